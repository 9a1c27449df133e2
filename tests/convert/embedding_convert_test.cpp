// `trit convert` on BitNet embedding checkpoints (bitnet-embedding-0.6b: model_type qwen3,
// -270m: gemma3_text): synthetic Hugging Face folders with the real tensor names, converted and run,
// against a float64 forward pass written here from the Hugging Face definitions on the original
// weights (absmean-ternarised BitLinear with its own input RMSNorm, Gemma's (1 + w) norms).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "convert/hf_convert.h"
#include "convert/safetensors.h"
#include "gguf/reader.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/error.h"
#include "support/test_data.h"
#include "tensor/codec.h"

namespace trit::convert {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Vec = std::vector<double>;

struct Spec {
  bool gemma;
  std::string prefix;  // "model." or "" (sentence-transformers' saved base model)
  int64_t n_embd = 256, n_ff = 512, n_layer = 2, n_head = 4, n_head_kv = 2, head_dim = 128, n_vocab = 300;
};

// The BPE tokenizer of the tests: 256 byte tokens (GPT-2's printable map for the ASCII letters is the
// identity; others are never encoded here), <|endoftext|> 256, <|im_end|> 257.
void write_tokenizer(const fs::path& dir) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) {
    std::string s;
    const int cp = (b >= 33 && b <= 126) ? b : 0x100 + b;  // distinct code points; only letters are used
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    vocab[s] = b;
  }
  Json tok = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", Json::array()}}},
              {"added_tokens", Json::array({{{"id", 256}, {"content", "<|endoftext|>"}, {"special", true}},
                                            {{"id", 257}, {"content", "<|im_end|>"}, {"special", true}}})},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"decoder", {{"type", "ByteLevel"}}}};
  std::ofstream(dir / "tokenizer.json") << tok.dump();
  std::ofstream(dir / "tokenizer_config.json") << Json({{"eos_token", "<|im_end|>"}}).dump();
}

std::vector<uint8_t> bf16_bytes(std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = tensor::f32_to_bf16(v[i]);
    v[i] = tensor::bf16_to_f32(h);  // what the file holds
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

// Writes the folder; returns the HF-named weights as stored (double).
std::map<std::string, Vec> write_checkpoint(const fs::path& dir, const Spec& s, bool with_norm_in = true) {
  std::mt19937_64 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::map<std::string, Vec> w;
  std::vector<StTensorData> tensors;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, std::vector<float> v) {
    auto bytes = bf16_bytes(v);
    w[name] = Vec(v.begin(), v.end());
    tensors.push_back({s.prefix + name, "BF16", std::move(shape), std::move(bytes)});
  };
  // Gemma's own norms are stored as offsets from 1 (near 0); everything else near 1.
  auto norm = [&](const std::string& name, int64_t n, bool gemma_norm) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = (s.gemma && gemma_norm ? 0.0f : 1.0f) + 0.1f * normal(rng);
    add(name, {n}, v);
  };
  auto proj = [&](const std::string& name, int64_t rows, int64_t cols) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (auto& x : v) x = normal(rng) / std::sqrt(static_cast<float>(cols));
    add(name + ".weight", {rows, cols}, v);
    if (with_norm_in) norm(name + ".norm.weight", cols, false);
  };
  const int64_t q = s.n_head * s.head_dim, kv = s.n_head_kv * s.head_dim;
  std::vector<float> embd(static_cast<size_t>(s.n_vocab * s.n_embd));
  for (auto& x : embd) x = normal(rng);
  add("embed_tokens.weight", {s.n_vocab, s.n_embd}, embd);
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string b = "layers." + std::to_string(l) + ".";
    norm(b + "input_layernorm.weight", s.n_embd, true);
    proj(b + "self_attn.q_proj", q, s.n_embd);
    proj(b + "self_attn.k_proj", kv, s.n_embd);
    proj(b + "self_attn.v_proj", kv, s.n_embd);
    proj(b + "self_attn.o_proj", s.n_embd, q);
    norm(b + "self_attn.q_norm.weight", s.head_dim, true);
    norm(b + "self_attn.k_norm.weight", s.head_dim, true);
    norm(b + "post_attention_layernorm.weight", s.n_embd, true);
    if (s.gemma) {
      norm(b + "pre_feedforward_layernorm.weight", s.n_embd, true);
      norm(b + "post_feedforward_layernorm.weight", s.n_embd, true);
    }
    proj(b + "mlp.gate_proj", s.n_ff, s.n_embd);
    proj(b + "mlp.up_proj", s.n_ff, s.n_embd);
    proj(b + "mlp.down_proj", s.n_embd, s.n_ff);
  }
  norm("norm.weight", s.n_embd, true);
  fs::create_directories(dir);
  write_safetensors((dir / "model.safetensors").string(), tensors);

  Json config = {
      {"hidden_size", s.n_embd},         {"intermediate_size", s.n_ff},        {"num_hidden_layers", s.n_layer},
      {"num_attention_heads", s.n_head}, {"num_key_value_heads", s.n_head_kv}, {"head_dim", s.head_dim},
      {"vocab_size", s.n_vocab},         {"max_position_embeddings", 32768},   {"rms_norm_eps", 1e-6},
      {"tie_word_embeddings", true}};
  if (s.gemma) {
    config["architectures"] = {"BitNetGemma3TextModel"};  // an unknown name: found by model_type
    config["model_type"] = "gemma3_text";
    config["rope_theta"] = 10000.0;
    config["hidden_activation"] = "gelu_pytorch_tanh";
    config["query_pre_attn_scalar"] = s.head_dim;
  } else {
    config["architectures"] = {"Qwen3Model"};
    config["model_type"] = "qwen3";
    config["rope_theta"] = 1000000.0;
    config["hidden_act"] = "silu";
  }
  std::ofstream(dir / "config.json") << config.dump(2);
  std::ofstream(dir / "modules.json")
      << R"([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])";
  fs::create_directories(dir / "1_Pooling");
  std::ofstream(dir / "1_Pooling" / "config.json") << R"({"pooling_mode_lasttoken": true})";
  write_tokenizer(dir);
  return w;
}

// The Hugging Face forward pass in double, on the checkpoint's weights.
class HfEmbedding {
 public:
  HfEmbedding(std::map<std::string, Vec> w, Spec s) : w_(std::move(w)), s_(std::move(s)) {}

  Vec embed(const std::vector<int32_t>& tokens) const {
    const int64_t n = static_cast<int64_t>(tokens.size()), E = s_.n_embd, hd = s_.head_dim;
    const double theta = s_.gemma ? 10000.0 : 1000000.0;
    const Vec& table = w_.at("embed_tokens.weight");
    std::vector<Vec> x(n);
    for (int64_t t = 0; t < n; ++t) {
      x[t].assign(table.begin() + tokens[t] * E, table.begin() + (tokens[t] + 1) * E);
      if (s_.gemma)
        for (double& e : x[t]) e *= std::sqrt(static_cast<double>(E));
    }
    for (int64_t l = 0; l < s_.n_layer; ++l) {
      const std::string b = "layers." + std::to_string(l) + ".";
      std::vector<Vec> q(n), k(n), v(n);
      for (int64_t t = 0; t < n; ++t) {
        const Vec h = model_norm(x[t], b + "input_layernorm.weight");
        q[t] = bitlinear(b + "self_attn.q_proj", h);
        k[t] = bitlinear(b + "self_attn.k_proj", h);
        v[t] = bitlinear(b + "self_attn.v_proj", h);
        for (int64_t i = 0; i < s_.n_head; ++i) head(q[t], i * hd, b + "self_attn.q_norm.weight", t, theta);
        for (int64_t i = 0; i < s_.n_head_kv; ++i) head(k[t], i * hd, b + "self_attn.k_norm.weight", t, theta);
      }
      for (int64_t t = 0; t < n; ++t) {
        Vec att(static_cast<size_t>(s_.n_head * hd), 0.0);
        for (int64_t i = 0; i < s_.n_head; ++i) {
          const int64_t g = i / (s_.n_head / s_.n_head_kv);
          Vec sc(static_cast<size_t>(t + 1));
          for (int64_t p = 0; p <= t; ++p) {
            double dot = 0;
            for (int64_t d = 0; d < hd; ++d) dot += q[t][i * hd + d] * k[p][g * hd + d];
            sc[p] = dot / std::sqrt(static_cast<double>(hd));  // query_pre_attn_scalar = head_dim
          }
          const double mx = *std::max_element(sc.begin(), sc.end());
          double sum = 0;
          for (auto& e : sc) sum += (e = std::exp(e - mx));
          for (int64_t p = 0; p <= t; ++p)
            for (int64_t d = 0; d < hd; ++d) att[i * hd + d] += sc[p] / sum * v[p][g * hd + d];
        }
        Vec o = bitlinear(b + "self_attn.o_proj", att);
        if (s_.gemma) o = model_norm(o, b + "post_attention_layernorm.weight");
        for (int64_t i = 0; i < E; ++i) x[t][i] += o[i];
        const Vec h =
            model_norm(x[t], b + (s_.gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"));
        Vec gate = bitlinear(b + "mlp.gate_proj", h);
        const Vec up = bitlinear(b + "mlp.up_proj", h);
        for (size_t i = 0; i < gate.size(); ++i) {
          const double z = gate[i];
          gate[i] = (s_.gemma ? 0.5 * z * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (z + 0.044715 * z * z * z)))
                              : z / (1.0 + std::exp(-z))) *
                    up[i];
        }
        Vec dn = bitlinear(b + "mlp.down_proj", gate);
        if (s_.gemma) dn = model_norm(dn, b + "post_feedforward_layernorm.weight");
        for (int64_t i = 0; i < E; ++i) x[t][i] += dn[i];
      }
    }
    Vec e = model_norm(x.back(), "norm.weight");
    double ss = 0;
    for (double z : e) ss += z * z;
    for (double& z : e) z /= std::sqrt(ss);
    return e;
  }

 private:
  static Vec rms(const Vec& x, const Vec& w, bool one_plus) {
    double ss = 0;
    for (double e : x) ss += e * e;
    const double r = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + 1e-6);
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * r * (one_plus ? 1.0 + w[i] : w[i]);
    return y;
  }
  // Qwen3RMSNorm (w) or Gemma3RMSNorm (1 + w).
  Vec model_norm(const Vec& x, const std::string& name) const { return rms(x, w_.at(name), s_.gemma); }
  // BitLinear: its own RMSNorm, int8 absmax activations, absmean-ternarised weights.
  Vec bitlinear(const std::string& name, const Vec& input) const {
    const Vec x = rms(input, w_.at(name + ".norm.weight"), false);
    const Vec& w = w_.at(name + ".weight");
    const int64_t cols = static_cast<int64_t>(x.size()), rows = static_cast<int64_t>(w.size()) / cols;
    double mean = 0;
    for (double e : w) mean += std::fabs(e);
    mean = std::max(mean / static_cast<double>(w.size()), 1e-5);
    double mx = 1e-5;
    for (double e : x) mx = std::max(mx, std::fabs(e));
    const double s = 127.0 / mx;
    Vec y(static_cast<size_t>(rows), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        y[r] += std::clamp(std::nearbyint(w[r * cols + c] / mean), -1.0, 1.0) * mean *
                (std::clamp(std::nearbyint(x[c] * s), -128.0, 127.0) / s);
    return y;
  }
  // Per-head norm, then rotate_half RoPE.
  void head(Vec& v, int64_t off, const std::string& norm, int64_t pos, double theta) const {
    const int64_t hd = s_.head_dim, half = hd / 2;
    const Vec h = model_norm(Vec(v.begin() + off, v.begin() + off + hd), norm);
    for (int64_t i = 0; i < half; ++i) {
      const double a = pos * std::pow(theta, -2.0 * i / hd);
      v[off + i] = h[i] * std::cos(a) - h[i + half] * std::sin(a);
      v[off + i + half] = h[i + half] * std::cos(a) + h[i] * std::sin(a);
    }
  }

  std::map<std::string, Vec> w_;
  Spec s_;
};

std::string convert(const fs::path& dir) {
  ConvertOptions o;
  o.hf_dir = dir;
  o.out_path = (dir / "out.gguf").string();
  o.show_progress = false;
  convert_hf(o);
  return o.out_path;
}

void expect_embeddings_match(const Spec& s, const std::string& name) {
  const fs::path dir = testing::make_temp_dir("trit-embed-convert-" + name);
  const auto weights = write_checkpoint(dir / "hf", s);
  const std::string path = convert(dir / "hf");

  auto r = gguf::Reader::open(path);
  const std::string arch = s.gemma ? "gemma3" : "qwen3";
  EXPECT_EQ(r.get_string("general.architecture"), arch);
  EXPECT_EQ(r.get_int(arch + ".pooling_type"), 3);
  EXPECT_EQ(r.get_int(arch + ".attention.key_length"), s.head_dim);
  EXPECT_EQ(r.find_tensor("output.weight"), nullptr);
  EXPECT_EQ(r.tensor("blk.1.ffn_down.weight").type_id, 36u) << "I2_S";
  EXPECT_NE(r.find_tensor("blk.0.attn_output_norm_in.weight"), nullptr);
  EXPECT_NE(r.find_tensor("blk.0.attn_q_norm.weight"), nullptr);
  EXPECT_EQ(r.find_tensor("blk.0.post_ffw_norm.weight") != nullptr, s.gemma);
  // Gemma's own norms are stored as w + 1, the BitLinear input norms as they are.
  const auto attn_norm = tensor::dequantize(r.tensor("blk.0.attn_norm.weight"));
  const auto q_in = tensor::dequantize(r.tensor("blk.0.attn_q_norm_in.weight"));
  EXPECT_FLOAT_EQ(attn_norm[3],
                  static_cast<float>(weights.at("layers.0.input_layernorm.weight")[3] + (s.gemma ? 1 : 0)));
  EXPECT_FLOAT_EQ(q_in[3], static_cast<float>(weights.at("layers.0.self_attn.q_proj.norm.weight")[3]));

  auto m = model::Model::load(path, {.show_progress = false});
  if (!s.gemma) {
    EXPECT_EQ(m->tokenizer().eos(), 256) << "<|endoftext|>, not tokenizer_config's <|im_end|>";
    EXPECT_EQ(m->tokenizer().encode("ab", true, false), (std::vector<int32_t>{97, 98, 256}));
  }
  const std::vector<int32_t> tokens = {5, 97, 98, 120, 33, 256};
  model::Forward fwd(*m, 2);
  model::KvCache cache(m->hparams(), 16, model::KvType::kF32);
  const model::SequenceInput in{&cache, tokens};
  const auto got = fwd.embed({&in, 1})[0];
  const Vec want = HfEmbedding(weights, s).embed(tokens);
  double dot = 0, ng = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    dot += got[i] * want[i];
    ng += static_cast<double>(got[i]) * got[i];
  }
  EXPECT_NEAR(std::sqrt(ng), 1.0, 1e-5);
  EXPECT_GT(dot / std::sqrt(ng), 0.9999) << name;
}

TEST(ConvertEmbedding, Qwen3CheckpointWithoutModelPrefixMatchesHfReference) {
  expect_embeddings_match({.gemma = false, .prefix = ""}, "qwen3");
}

TEST(ConvertEmbedding, Gemma3CheckpointMatchesHfReference) {
  expect_embeddings_match({.gemma = true, .prefix = "model.", .n_head_kv = 1}, "gemma3");
}

TEST(ConvertEmbedding, PlainQwen3WithoutPerProjectionNormsIsRefused) {
  const fs::path dir = testing::make_temp_dir("trit-embed-convert-plain");
  write_checkpoint(dir / "hf", {.gemma = false, .prefix = "model."}, /*with_norm_in=*/false);
  try {
    convert(dir / "hf");
    FAIL() << "converted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a BitNet embedding one"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace trit::convert
