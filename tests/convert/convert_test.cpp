// `trit convert` end to end: synthetic Hugging Face folders written here with the real tensor names,
// converted, loaded by the engine, and their logits checked against a float64 forward pass written
// from the Hugging Face model definitions on the original weights (ternarised as the checkpoint's
// BitLinear would: absmean for float weights, the unpacked values and weight_scale for packed ones).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "convert/hf_arch.h"
#include "convert/hf_convert.h"
#include "convert/hf_folder.h"
#include "convert/safetensors.h"
#include "gguf/reader.h"
#include "model/context.h"
#include "model/model.h"
#include "runtime/error.h"
#include "support/test_data.h"
#include "tensor/codec.h"
#include "tokenizer/tokenizer_test_util.h"

namespace trit::convert {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Vec = std::vector<double>;

// ---------------------------------------------------------------------------------------------
// Building checkpoints.

enum class Kind {
  kBitnet1bitLLM,   // BitnetForCausalLM, F16 float weights, SiLU, inner_attn_ln / ffn_layernorm sub-norms
  kBitnet2B4T,      // BitNetForCausalLM, packed U8 + weight_scale (AutoBitLinear offline), ReLU², GQA
  kBitnet2B4TBf16,  // BitNetForCausalLM, BF16 master weights (AutoBitLinear online)
  kLlamaPacked,     // LlamaForCausalLM, packed U8 + weight_scale (BitLinear: divide), GQA, untied lm_head
};

struct Spec {
  Kind kind;
  int64_t n_embd = 256, n_ff = 512, n_layer = 2, n_head = 4, n_head_kv = 4, n_vocab = 300;
  double rope_theta = 10000.0;
  int shards = 1;
  bool write_tokenizer = true;  // false: the test puts real tokenizer files in the folder
};

// One linear layer as the reference uses it: W[r][c] (double), and how the checkpoint stores it.
struct RefModel {
  Spec spec;
  std::map<std::string, std::vector<double>> w;  // HF names -> effective float weights
};

std::vector<uint8_t> as_bytes(const std::vector<float>& v, const std::string& dtype) {
  std::vector<uint8_t> out;
  if (dtype == "F32") {
    out.resize(v.size() * 4);
    std::memcpy(out.data(), v.data(), out.size());
    return out;
  }
  out.resize(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = dtype == "BF16" ? tensor::f32_to_bf16(v[i]) : tensor::f32_to_f16(v[i]);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

// Round-trips v through the storage type so the reference sees exactly what the file holds.
std::vector<float> stored(std::vector<float> v, const std::string& dtype) {
  for (auto& x : v)
    x = dtype == "BF16"  ? tensor::bf16_to_f32(tensor::f32_to_bf16(x))
        : dtype == "F16" ? tensor::f16_to_f32(tensor::f32_to_f16(x))
                         : x;
  return v;
}

// transformers' pack_weights, written from its description: rows split into 4 quarters, quarter q in
// bits 2q..2q+1 of byte [r % (rows/4)][c], value + 1.
std::vector<uint8_t> hf_pack(const std::vector<int8_t>& t, int64_t rows, int64_t cols) {
  const int64_t pr = rows / 4;
  std::vector<uint8_t> out(static_cast<size_t>(pr * cols), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[static_cast<size_t>((r % pr) * cols + c)] |= static_cast<uint8_t>((t[r * cols + c] + 1) << (2 * (r / pr)));
  return out;
}

// Absmean as the paper defines it, in double: W' = clamp(round(W / mean|W|)) * mean|W|.
std::vector<double> absmean_reference(const std::vector<float>& w) {
  double sum = 0;
  for (float x : w) sum += std::fabs(x);
  const double mean = std::max(sum / static_cast<double>(w.size()), 1e-5);
  std::vector<double> out(w.size());
  for (size_t i = 0; i < w.size(); ++i) out[i] = std::clamp(std::nearbyint(w[i] / mean), -1.0, 1.0) * mean;
  return out;
}

// GPT-2's byte -> printable code point map, as UTF-8.
std::string byte_token(int b) {
  auto printable = [](int x) { return (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255); };
  int cp = b;
  if (!printable(b)) {
    int n = 0;
    for (int x = 0; x < b; ++x)
      if (!printable(x)) ++n;
    cp = 256 + n;
  }
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// A small byte-level BPE tokenizer.json: 256 byte tokens, two merges, <s> and </s>.
void write_tokenizer(const fs::path& dir) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_token(b)] = b;
  vocab["he"] = 256;
  vocab["Ġt"] = 257;
  Json tok = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", Json::array({"h e", "Ġ t"})}}},
              {"added_tokens", Json::array({{{"id", 258}, {"content", "<s>"}, {"special", true}},
                                            {{"id", 259}, {"content", "</s>"}, {"special", true}}})},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"decoder", {{"type", "ByteLevel"}}}};
  std::ofstream(dir / "tokenizer.json") << tok.dump();
  Json config = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"chat_template", "{{ messages }}"}};
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
}

RefModel write_checkpoint(const fs::path& dir, const Spec& s, uint64_t seed = 5) {
  RefModel ref{s, {}};
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> trit_dist(-1, 1);
  const bool bitnet = s.kind != Kind::kLlamaPacked;
  const bool packed = s.kind == Kind::kBitnet2B4T || s.kind == Kind::kLlamaPacked;
  const std::string float_dtype = s.kind == Kind::kBitnet1bitLLM ? "F16" : "BF16";
  const int64_t hd = s.n_embd / s.n_head;
  std::vector<StTensorData> tensors;

  auto add_float = [&](const std::string& name, std::vector<int64_t> shape, std::vector<float> v) {
    v = stored(std::move(v), float_dtype);
    ref.w[name] = Vec(v.begin(), v.end());
    tensors.push_back({name, float_dtype, std::move(shape), as_bytes(v, float_dtype)});
  };
  auto add_norm = [&](const std::string& name, int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = 1.0f + 0.1f * normal(rng);
    add_float(name, {n}, v);
  };
  auto add_linear = [&](const std::string& name, int64_t rows, int64_t cols) {
    const float sd = 1.0f / std::sqrt(static_cast<float>(cols));
    if (!packed) {
      std::vector<float> v(static_cast<size_t>(rows * cols));
      for (auto& x : v) x = sd * normal(rng);
      v = stored(std::move(v), float_dtype);
      ref.w[name] = absmean_reference(v);
      tensors.push_back({name, float_dtype, {rows, cols}, as_bytes(v, float_dtype)});
      return;
    }
    std::vector<int8_t> t(static_cast<size_t>(rows * cols));
    for (auto& x : t) x = static_cast<int8_t>(trit_dist(rng));
    // AutoBitLinear (2B-4T) multiplies by weight_scale, BitLinear divides by it.
    const bool multiply = s.kind == Kind::kBitnet2B4T;
    const float ws = tensor::bf16_to_f32(tensor::f32_to_bf16(multiply ? sd * 1.1f : 1.0f / (sd * 1.1f)));
    const double scale = multiply ? ws : 1.0 / ws;
    Vec eff(t.size());
    for (size_t i = 0; i < t.size(); ++i) eff[i] = t[i] * scale;
    ref.w[name] = std::move(eff);
    tensors.push_back({name, "U8", {rows / 4, cols}, hf_pack(t, rows, cols)});
    const std::string scale_name = name.substr(0, name.size() - 7) + ".weight_scale";
    tensors.push_back({scale_name, "BF16", {1}, as_bytes({ws}, "BF16")});
  };

  std::vector<float> embd(static_cast<size_t>(s.n_vocab * s.n_embd));
  for (auto& x : embd) x = normal(rng);
  add_float("model.embed_tokens.weight", {s.n_vocab, s.n_embd}, embd);
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string b = fmt::format("model.layers.{}.", l);
    add_norm(b + "input_layernorm.weight", s.n_embd);
    add_linear(b + "self_attn.q_proj.weight", s.n_head * hd, s.n_embd);
    add_linear(b + "self_attn.k_proj.weight", s.n_head_kv * hd, s.n_embd);
    add_linear(b + "self_attn.v_proj.weight", s.n_head_kv * hd, s.n_embd);
    add_linear(b + "self_attn.o_proj.weight", s.n_embd, s.n_head * hd);
    add_norm(b + "post_attention_layernorm.weight", s.n_embd);
    add_linear(b + "mlp.gate_proj.weight", s.n_ff, s.n_embd);
    add_linear(b + "mlp.up_proj.weight", s.n_ff, s.n_embd);
    add_linear(b + "mlp.down_proj.weight", s.n_embd, s.n_ff);
    if (s.kind == Kind::kBitnet1bitLLM) {
      add_norm(b + "self_attn.inner_attn_ln.weight", s.n_embd);
      add_norm(b + "mlp.ffn_layernorm.weight", s.n_ff);
      std::vector<float> inv(static_cast<size_t>(hd / 2), 1.0f);
      tensors.push_back({b + "self_attn.rotary_emb.inv_freq", "F32", {hd / 2}, as_bytes(inv, "F32")});
    } else if (bitnet) {
      add_norm(b + "self_attn.attn_sub_norm.weight", s.n_embd);
      add_norm(b + "mlp.ffn_sub_norm.weight", s.n_ff);
    }
  }
  add_norm("model.norm.weight", s.n_embd);
  if (!bitnet) {
    std::vector<float> head(static_cast<size_t>(s.n_vocab * s.n_embd));
    for (auto& x : head) x = normal(rng);
    add_float("lm_head.weight", {s.n_vocab, s.n_embd}, head);
  }

  // Shards: tensors dealt round-robin, with the index naming each one's file.
  fs::create_directories(dir);
  if (s.shards == 1) {
    write_safetensors((dir / "model.safetensors").string(), tensors);
  } else {
    Json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", Json::object()}};
    std::vector<std::vector<StTensorData>> parts(static_cast<size_t>(s.shards));
    for (size_t i = 0; i < tensors.size(); ++i) {
      const size_t k = i % static_cast<size_t>(s.shards);
      index["weight_map"][tensors[i].name] = fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, s.shards);
      parts[k].push_back(tensors[i]);
    }
    for (size_t k = 0; k < parts.size(); ++k)
      write_safetensors((dir / fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, s.shards)).string(), parts[k]);
    std::ofstream(dir / "model.safetensors.index.json") << index.dump(2);
  }

  Json config = {{"hidden_size", s.n_embd},
                 {"intermediate_size", s.n_ff},
                 {"num_hidden_layers", s.n_layer},
                 {"num_attention_heads", s.n_head},
                 {"num_key_value_heads", s.n_head_kv},
                 {"vocab_size", s.n_vocab},
                 {"max_position_embeddings", 128},
                 {"rms_norm_eps", 1e-5},
                 {"rope_theta", s.rope_theta},
                 {"rope_scaling", nullptr}};
  switch (s.kind) {
    case Kind::kBitnet1bitLLM:
      config["architectures"] = {"BitnetForCausalLM"};
      config["model_type"] = "llama";
      config["hidden_act"] = "relu";  // as 1bitLLM's config says; the graph is SiLU
      config["tie_word_embeddings"] = true;
      break;
    case Kind::kBitnet2B4T:
    case Kind::kBitnet2B4TBf16:
      config["architectures"] = {"BitNetForCausalLM"};
      config["model_type"] = "bitnet";
      config["hidden_act"] = "relu2";
      config["tie_word_embeddings"] = true;
      config["quantization_config"] = {{"quant_method", "bitnet"},
                                       {"linear_class", "autobitlinear"},
                                       {"quantization_mode", s.kind == Kind::kBitnet2B4T ? "offline" : "online"}};
      break;
    case Kind::kLlamaPacked:
      config["architectures"] = {"LlamaForCausalLM"};
      config["model_type"] = "llama";
      config["hidden_act"] = "silu";
      config["tie_word_embeddings"] = false;
      config["quantization_config"] = {{"quant_method", "bitnet"}, {"modules_to_not_convert", nullptr}};
      break;
  }
  std::ofstream(dir / "config.json") << config.dump(2);
  std::ofstream(dir / "generation_config.json") << Json({{"bos_token_id", 258}, {"eos_token_id", 259}}).dump();
  if (s.write_tokenizer) write_tokenizer(dir);
  return ref;
}

// ---------------------------------------------------------------------------------------------
// The reference: the Hugging Face forward pass (modeling_llama / modeling_bitnet) in double.

class HfReference {
 public:
  explicit HfReference(const RefModel& m) : m_(m), s_(m.spec) { hd_ = s_.n_embd / s_.n_head; }

  std::vector<Vec> logits(const std::vector<int32_t>& tokens) const {
    const int64_t n = static_cast<int64_t>(tokens.size()), E = s_.n_embd;
    const bool bitnet = s_.kind != Kind::kLlamaPacked;
    const bool relu2 = s_.kind == Kind::kBitnet2B4T || s_.kind == Kind::kBitnet2B4TBf16;
    const Vec& embd = w("model.embed_tokens.weight");
    std::vector<Vec> x(n);
    for (int64_t t = 0; t < n; ++t) x[t].assign(embd.begin() + tokens[t] * E, embd.begin() + (tokens[t] + 1) * E);
    for (int64_t l = 0; l < s_.n_layer; ++l) {
      const std::string b = fmt::format("model.layers.{}.", l);
      const std::string attn_sub =
          s_.kind == Kind::kBitnet1bitLLM ? "self_attn.inner_attn_ln.weight" : "self_attn.attn_sub_norm.weight";
      const std::string ffn_sub =
          s_.kind == Kind::kBitnet1bitLLM ? "mlp.ffn_layernorm.weight" : "mlp.ffn_sub_norm.weight";
      std::vector<Vec> q(n), k(n), v(n);
      for (int64_t t = 0; t < n; ++t) {
        const Vec h = rmsnorm(x[t], w(b + "input_layernorm.weight"));
        q[t] = bitlinear(b + "self_attn.q_proj.weight", h);
        k[t] = bitlinear(b + "self_attn.k_proj.weight", h);
        v[t] = bitlinear(b + "self_attn.v_proj.weight", h);
        for (int64_t hh = 0; hh < s_.n_head; ++hh) rotate_half_rope(q[t], hh * hd_, t);
        for (int64_t hh = 0; hh < s_.n_head_kv; ++hh) rotate_half_rope(k[t], hh * hd_, t);
      }
      for (int64_t t = 0; t < n; ++t) {
        Vec att(static_cast<size_t>(s_.n_head * hd_), 0.0);
        for (int64_t hh = 0; hh < s_.n_head; ++hh) {
          const int64_t kvh = hh / (s_.n_head / s_.n_head_kv);
          Vec sc(static_cast<size_t>(t + 1));
          for (int64_t p = 0; p <= t; ++p) {
            double dot = 0;
            for (int64_t d = 0; d < hd_; ++d) dot += q[t][hh * hd_ + d] * k[p][kvh * hd_ + d];
            sc[p] = dot / std::sqrt(static_cast<double>(hd_));
          }
          const double mx = *std::max_element(sc.begin(), sc.end());
          double sum = 0;
          for (auto& e : sc) sum += (e = std::exp(e - mx));
          for (int64_t p = 0; p <= t; ++p)
            for (int64_t d = 0; d < hd_; ++d) att[hh * hd_ + d] += sc[p] / sum * v[p][kvh * hd_ + d];
        }
        if (bitnet) att = rmsnorm(att, w(b + attn_sub));
        const Vec o = bitlinear(b + "self_attn.o_proj.weight", att);
        for (int64_t i = 0; i < E; ++i) x[t][i] += o[i];
        const Vec h = rmsnorm(x[t], w(b + "post_attention_layernorm.weight"));
        Vec g = bitlinear(b + "mlp.gate_proj.weight", h);
        const Vec u = bitlinear(b + "mlp.up_proj.weight", h);
        for (size_t i = 0; i < g.size(); ++i) {
          const double a = relu2 ? (g[i] > 0 ? g[i] * g[i] : 0.0) : g[i] / (1.0 + std::exp(-g[i]));
          g[i] = a * u[i];
        }
        if (bitnet) g = rmsnorm(g, w(b + ffn_sub));
        const Vec dn = bitlinear(b + "mlp.down_proj.weight", g);
        for (int64_t i = 0; i < E; ++i) x[t][i] += dn[i];
      }
    }
    const Vec& head = m_.w.count("lm_head.weight") ? w("lm_head.weight") : embd;
    std::vector<Vec> out(n, Vec(static_cast<size_t>(s_.n_vocab)));
    for (int64_t t = 0; t < n; ++t) {
      const Vec h = rmsnorm(x[t], w("model.norm.weight"));
      for (int64_t r = 0; r < s_.n_vocab; ++r) {
        double acc = 0;
        for (int64_t c = 0; c < E; ++c) acc += head[r * E + c] * h[c];
        out[t][r] = acc;
      }
    }
    return out;
  }

 private:
  const Vec& w(const std::string& name) const { return m_.w.at(name); }
  static Vec rmsnorm(const Vec& x, const Vec& g) {
    double ss = 0;
    for (double e : x) ss += e * e;
    const double r = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + 1e-5);
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * r * g[i];
    return y;
  }
  // ActQuant (per-token absmax int8) then the effective weights.
  Vec bitlinear(const std::string& name, const Vec& x) const {
    const Vec& W = w(name);
    const int64_t cols = static_cast<int64_t>(x.size()), rows = static_cast<int64_t>(W.size()) / cols;
    double mx = 1e-5;
    for (double e : x) mx = std::max(mx, std::fabs(e));
    const double s = 127.0 / mx;
    Vec xq(x.size());
    for (int64_t c = 0; c < cols; ++c) xq[c] = std::clamp(std::nearbyint(x[c] * s), -128.0, 127.0) / s;
    Vec y(static_cast<size_t>(rows), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) y[r] += W[r * cols + c] * xq[c];
    return y;
  }
  // transformers' rotate_half: dimension i pairs with i + d/2.
  void rotate_half_rope(Vec& v, int64_t off, int64_t pos) const {
    const int64_t half = hd_ / 2;
    for (int64_t i = 0; i < half; ++i) {
      const double th = static_cast<double>(pos) * std::pow(s_.rope_theta, -2.0 * static_cast<double>(i) / hd_);
      const double a = v[off + i], b = v[off + i + half];
      v[off + i] = a * std::cos(th) - b * std::sin(th);
      v[off + i + half] = b * std::cos(th) + a * std::sin(th);
    }
  }

  const RefModel& m_;
  Spec s_;
  int64_t hd_;
};

// ---------------------------------------------------------------------------------------------

const std::vector<int32_t> kTokens = {258, 17, 250, 3, 99, 42, 7, 290};

std::string convert_to(const fs::path& dir, uint32_t type_id, uint32_t embed_type = 1) {
  ConvertOptions o;
  o.hf_dir = dir;
  o.out_path = (dir / fmt::format("out-{}.gguf", gguf::type_name(type_id))).string();
  o.type_id = type_id;
  o.embed_type_id = embed_type;
  o.show_progress = false;
  convert_hf(o);
  return o.out_path;
}

// The engine's logits vs the float64 HF reference. Both quantise activations to int8, and a value on
// a .5 boundary may round differently in float and double; the output layer rounds its input to f16.
// So the tolerance is relative to the logits' spread, as in tests/model/forward_test.cpp, and the
// greedy token must agree.
void expect_logits_match(const std::string& path, const RefModel& ref, double rel = 3e-3) {
  auto m = model::Model::load(path, {.show_progress = false});
  model::Context ctx(*m, {.n_ctx = 64, .n_threads = 2, .kv_type = model::KvType::kF32});
  const auto got = ctx.eval(kTokens, /*all_logits=*/true);
  const auto want = HfReference(ref).logits(kTokens);
  const int64_t n_vocab = ref.spec.n_vocab;
  ASSERT_EQ(static_cast<int64_t>(got.size()), static_cast<int64_t>(kTokens.size()) * n_vocab);
  int argmax_agree = 0;
  for (size_t t = 0; t < kTokens.size(); ++t) {
    double max_abs = 0, max_diff = 0;
    int64_t best_want = 0, best_got = 0;
    for (int64_t r = 0; r < n_vocab; ++r) {
      max_abs = std::max(max_abs, std::fabs(want[t][r]));
      max_diff = std::max(max_diff, std::fabs(want[t][r] - got[t * n_vocab + r]));
      if (want[t][r] > want[t][best_want]) best_want = r;
      if (got[t * n_vocab + r] > got[t * n_vocab + best_got]) best_got = r;
    }
    EXPECT_LE(max_diff, rel * max_abs + 1e-3) << "position " << t << " of " << path;
    EXPECT_GT(max_abs, 0.1) << "degenerate logits";
    argmax_agree += best_want == best_got;
  }
  EXPECT_GE(argmax_agree, static_cast<int>(kTokens.size()) - 1) << path;
}

// Temporary folders, removed when the test program ends (checkpoints and models are megabytes).
std::vector<fs::path>& temp_dirs() {
  static std::vector<fs::path> dirs;
  return dirs;
}
class RemoveTempDirs : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    for (const auto& d : temp_dirs()) fs::remove_all(d, ec);
  }
};
[[maybe_unused]] ::testing::Environment* const kRemoveTempDirs =
    ::testing::AddGlobalTestEnvironment(new RemoveTempDirs);

fs::path fresh_dir(const std::string& name) {
  temp_dirs().push_back(testing::make_temp_dir("trit-convert-" + name));
  return temp_dirs().back();
}

constexpr uint32_t kI2S = 36, kTQ1 = 34, kTQ2 = 35;

TEST(ConvertHf, UnpacksTransformersExample) {
  // The docstring example of transformers' unpack_weights: packed [[0b10100001, 0b00011000],
  // [0b10010000, 0b00001010]] unpacks to 8 rows of 2.
  const std::vector<uint8_t> packed = {0b10100001, 0b00011000, 0b10010000, 0b00001010};
  const auto v = unpack_hf_ternary(packed, 8, 2, "example");
  const std::vector<int8_t> want = {0, -1, -1, 1, -1, 1, -1, 1, 1, 0, 0, -1, 1, -1, 1, -1};
  EXPECT_EQ(v, want);
  EXPECT_THROW(unpack_hf_ternary(std::vector<uint8_t>{0b11}, 4, 1, "bad"), Error);
}

TEST(ConvertHf, PreTernarisedWeightsKeepTheirScale) {
  const float s = 0.0371f;
  const std::vector<float> w = {s, -s, 0, s, 0, 0, -s, s};
  const auto m = ternarize_weights(w, 2, 4);
  EXPECT_EQ(m.scales[0], s);
  EXPECT_EQ(m.values, (std::vector<int8_t>{1, -1, 0, 1, 0, 0, -1, 1}));
  // Ordinary weights: absmean.
  const std::vector<float> f = {0.5f, -0.1f, 0.2f, -0.9f};
  const auto a = ternarize_weights(f, 1, 4);
  EXPECT_NEAR(a.scales[0], 0.425f, 1e-6);
  EXPECT_EQ(a.values, (std::vector<int8_t>{1, 0, 0, -1}));
}

TEST(ConvertHf, QkPermutationMatchesLlamaCpp) {
  // One head of 4 rows: HF pairs (0,2), (1,3); ggml NORM pairs (0,1), (2,3) -> rows 0 2 1 3.
  tensor::TernaryMatrix m{4, 1, 1, {1, 0, -1, 1}, {1, 1, 1, 1}};
  permute_qk_rows(m, 1);
  EXPECT_EQ(m.values, (std::vector<int8_t>{1, -1, 0, 1}));
}

TEST(ConvertHf, Bitnet1bitLLMFloatWeightsShardedI2S) {
  const auto dir = fresh_dir("1bitllm");
  const auto ref = write_checkpoint(dir, {.kind = Kind::kBitnet1bitLLM, .shards = 3});
  const auto path = convert_to(dir, kI2S);
  auto r = gguf::Reader::open(path);
  EXPECT_EQ(r.get_string("general.architecture"), "bitnet");
  EXPECT_EQ(r.tensor("blk.1.attn_sub_norm.weight").type_id, 0u);
  EXPECT_EQ(r.tensor("blk.0.ffn_down.weight").type_id, kI2S);
  EXPECT_EQ(r.find_tensor("output.weight"), nullptr) << "tied embeddings";
  expect_logits_match(path, ref);
}

TEST(ConvertHf, Bitnet2B4TPackedWeightsAllTernaryTypes) {
  const auto dir = fresh_dir("2b4t");
  const auto ref = write_checkpoint(dir, {.kind = Kind::kBitnet2B4T, .n_head_kv = 2, .rope_theta = 500000.0});
  for (uint32_t type : {kI2S, kTQ1, kTQ2}) {
    const auto path = convert_to(dir, type);
    auto r = gguf::Reader::open(path);
    EXPECT_EQ(r.get_string("general.architecture"), "bitnet-b1.58");
    EXPECT_EQ(r.get_int("bitnet-b1.58.attention.head_count_kv"), 2);
    expect_logits_match(path, ref);
  }
}

TEST(ConvertHf, Bitnet2B4TBf16MasterWeights) {
  const auto dir = fresh_dir("2b4t-bf16");
  const auto ref = write_checkpoint(dir, {.kind = Kind::kBitnet2B4TBf16, .n_head_kv = 2});
  expect_logits_match(convert_to(dir, kI2S), ref);
  expect_logits_match(convert_to(dir, kTQ2, /*embed q8_0*/ 8), ref, 2e-2);
}

TEST(ConvertHf, LlamaPackedWeightsPermutedForNormRope) {
  const auto dir = fresh_dir("llama");
  const auto ref = write_checkpoint(dir, {.kind = Kind::kLlamaPacked, .n_head_kv = 2, .shards = 2});
  const auto path = convert_to(dir, kI2S);
  auto r = gguf::Reader::open(path);
  EXPECT_EQ(r.get_string("general.architecture"), "llama");
  EXPECT_NE(r.find_tensor("output.weight"), nullptr) << "untied lm_head";
  expect_logits_match(path, ref);
}

TEST(ConvertHf, WritesTokenizerAndChatTemplate) {
  const auto dir = fresh_dir("tok");
  write_checkpoint(dir, {.kind = Kind::kBitnet1bitLLM, .n_layer = 1});
  auto r = gguf::Reader::open(convert_to(dir, kI2S));
  auto m = model::Model::load(r.name(), {.show_progress = false});
  EXPECT_EQ(m->tokenizer().n_tokens(), 300);  // 260 tokens padded to vocab_size
  EXPECT_EQ(m->tokenizer().bos(), 258);
  EXPECT_EQ(m->tokenizer().eos(), 259);
  EXPECT_EQ(r.get_string("tokenizer.chat_template"), "{{ messages }}");
  EXPECT_EQ(m->tokenizer().encode("he then", false, false), (std::vector<int32_t>{256, 257, 256, 110}));
}

// ---------------------------------------------------------------------------------------------
// Errors.

std::string convert_error(const fs::path& dir) {
  try {
    convert_to(dir, kI2S);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void edit_config(const fs::path& dir, const std::function<void(Json&)>& edit) {
  Json c = Json::parse(std::ifstream(dir / "config.json"));
  edit(c);
  std::ofstream(dir / "config.json") << c.dump();
}

TEST(ConvertHfErrors, UnknownArchitectureNamesTheKnownOnes) {
  const auto dir = fresh_dir("err-arch");
  write_checkpoint(dir, {.kind = Kind::kBitnet1bitLLM, .n_layer = 1});
  edit_config(dir, [](Json& c) { c["architectures"] = {"MambaForCausalLM"}; });
  const std::string e = convert_error(dir);
  EXPECT_NE(e.find("'MambaForCausalLM' is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("BitnetForCausalLM"), std::string::npos) << e;
}

TEST(ConvertHfErrors, MissingTensorIsNamed) {
  const auto dir = fresh_dir("err-missing");
  write_checkpoint(dir, {.kind = Kind::kBitnet1bitLLM, .n_layer = 1});
  edit_config(dir, [](Json& c) { c["num_hidden_layers"] = 2; });
  const std::string e = convert_error(dir);
  EXPECT_NE(e.find("no tensor 'model.layers.1.input_layernorm.weight'"), std::string::npos) << e;
}

TEST(ConvertHfErrors, ShapeMismatchIsNamed) {
  const auto dir = fresh_dir("err-shape");
  write_checkpoint(dir, {.kind = Kind::kBitnet1bitLLM, .n_layer = 1});
  edit_config(dir, [](Json& c) { c["intermediate_size"] = 768; });
  const std::string e = convert_error(dir);
  EXPECT_NE(e.find("model.layers.0.mlp.gate_proj.weight' has shape [512, 256], but config.json makes it [768, 256]"),
            std::string::npos)
      << e;
}

TEST(ConvertHfErrors, LeftoverTensorsAndPlainLlamaAreRefused) {
  const auto dir = fresh_dir("err-extra");
  write_checkpoint(dir, {.kind = Kind::kBitnet1bitLLM, .n_layer = 2});
  edit_config(dir, [](Json& c) { c["num_hidden_layers"] = 1; });
  EXPECT_NE(convert_error(dir).find("does not use, e.g. 'model.layers.1."), std::string::npos);

  const auto plain = fresh_dir("err-plain");
  write_checkpoint(plain, {.kind = Kind::kBitnet1bitLLM, .n_layer = 1});
  edit_config(plain, [](Json& c) { c["architectures"] = {"LlamaForCausalLM"}; });
  const std::string e = convert_error(plain);
  EXPECT_NE(e.find("is an ordinary model"), std::string::npos) << e;
}

TEST(ConvertHfErrors, PackedWeightWithoutScaleIsNamed) {
  const auto dir = fresh_dir("err-scale");
  write_checkpoint(dir, {.kind = Kind::kBitnet2B4T, .n_layer = 1});
  // Rewrite the checkpoint without one weight_scale.
  std::vector<StTensorData> kept;
  {
    auto f = SafetensorsFile::open((dir / "model.safetensors").string());
    for (const auto& t : f->tensors())
      if (t.name != "model.layers.0.mlp.up_proj.weight_scale")
        kept.push_back({t.name, t.dtype, t.shape, std::vector<uint8_t>(t.data.begin(), t.data.end())});
  }
  write_safetensors((dir / "model.safetensors").string(), kept);
  const std::string e = convert_error(dir);
  EXPECT_NE(e.find("'model.layers.0.mlp.up_proj.weight' has no 'model.layers.0.mlp.up_proj.weight_scale'"),
            std::string::npos)
      << e;
}

TEST(ConvertHf, GenerationConfigFillsMissingIds) {
  const auto dir = fresh_dir("gencfg");
  write_checkpoint(dir, {.kind = Kind::kBitnet1bitLLM, .n_layer = 1});
  std::ofstream(dir / "tokenizer_config.json") << Json({{"bos_token", "<s>"}, {"eos_token", nullptr}}).dump();
  std::ofstream(dir / "generation_config.json") << Json({{"bos_token_id", 0}, {"eos_token_id", {259, 65}}}).dump();
  auto r = gguf::Reader::open(convert_to(dir, kI2S));
  const auto v = tokenizer::Vocab::from_gguf(r);
  EXPECT_EQ(v.bos_id, 258) << "the tokenizer's BOS wins";
  EXPECT_EQ(v.eos_id, 259);
  EXPECT_EQ(v.eot_id, 65);
}

TEST(ConvertHfErrors, TypeThatCannotHoldTheShape) {
  const auto dir = fresh_dir("err-tq");
  write_checkpoint(dir,
                   {.kind = Kind::kBitnet2B4T, .n_embd = 128, .n_ff = 256, .n_layer = 1, .n_head = 2, .n_head_kv = 2});
  try {
    convert_to(dir, kTQ1);
    FAIL() << "tq1_0 with rows of 128 converted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be stored as tq1_0"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "out-tq1_0.gguf")) << "unfinished file left behind";
}

TEST(Safetensors, RejectsTruncatedFiles) {
  const auto dir = fresh_dir("st");
  write_safetensors((dir / "a.safetensors").string(), {{"x", "F32", {4}, std::vector<uint8_t>(16, 0)}});
  fs::resize_file(dir / "a.safetensors", fs::file_size(dir / "a.safetensors") - 4);
  EXPECT_THROW(SafetensorsFile::open((dir / "a.safetensors").string()), Error);
}

// The names of the real 1bitLLM/bitnet_b1_58-3B checkpoint are exactly those the arch table reads.
TEST(ConvertHfShared, Bitnet3BIndexNamesAreExactlyTheArchitectureTable) {
  TRIT_REQUIRE_SHARED_DATA();
  const auto dir = testing::shared_data_dir() / "configs/bitnet_b1_58-3B";
  const Json index = Json::parse(std::ifstream(dir / "model.safetensors.index.json"));
  const HfModel m = read_hf_model(dir, "F16");
  EXPECT_EQ(m.gguf_arch, "bitnet");
  EXPECT_EQ(m.n_layer, 26);
  std::set<std::string> want;
  want.insert("model.embed_tokens.weight");
  want.insert("model.norm.weight");
  for (int64_t i = 0; i < m.n_layer; ++i) {
    for (const auto& t : m.layer_tensors()) want.insert(fmt::format("model.layers.{}.{}", i, t.hf));
    want.insert(fmt::format("model.layers.{}.self_attn.rotary_emb.inv_freq", i));
  }
  std::set<std::string> got;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) got.insert(it.key());
  EXPECT_EQ(got, want);
}

// Tokenizers converted from the real files reproduce the reference vectors (encoded without BOS/EOS
// and special-token parsing, as llama.cpp's test-tokenizer-0 does), through a whole conversion:
// the tokenizer goes into the GGUF file and comes back out of the loaded model.
struct TokenizerCase {
  const char* name;
  std::vector<std::pair<const char*, const char*>> files;  // shared path -> name in the folder
  int64_t n_vocab;
  const char* vectors;  // under tokenizers/vectors, without .inp/.out
};

void PrintTo(const TokenizerCase& c, std::ostream* os) { *os << c.name; }

class ConvertedTokenizer : public ::testing::TestWithParam<TokenizerCase> {};

TEST_P(ConvertedTokenizer, ReproducesReferenceVectors) {
  TRIT_REQUIRE_SHARED_DATA();
  const TokenizerCase& c = GetParam();
  const auto data = testing::shared_data_dir();
  const auto dir = fresh_dir(std::string("tokvec-") + c.name);
  write_checkpoint(dir, {.kind = Kind::kBitnet1bitLLM,
                         .n_embd = 128,
                         .n_ff = 256,
                         .n_layer = 1,
                         .n_head = 2,
                         .n_head_kv = 2,
                         .n_vocab = c.n_vocab,
                         .write_tokenizer = false});
  for (const auto& [from, to] : c.files) fs::copy_file(data / from, dir / to);
  auto m = model::Model::load(convert_to(dir, kI2S), {.show_progress = false});
  const auto& tok = m->tokenizer();
  const auto vec = data / "tokenizers/vectors";
  const auto cases = tokenizer::testing::read_vectors(vec / (std::string(c.vectors) + ".inp"),
                                                      vec / (std::string(c.vectors) + ".out"));
  size_t passed = 0;
  for (const auto& v : cases) {
    const auto ids = tok.encode(v.input, /*add_special=*/false, /*parse_special=*/false);
    if (ids == v.expected)
      ++passed;
    else
      ADD_FAILURE() << c.name << ": input '" << v.input << "' got " << fmt::format("{}", fmt::join(ids, " "));
  }
  EXPECT_EQ(passed, cases.size());
  EXPECT_GE(tok.eos(), 0);
}

const fs::path k3B = "configs/bitnet_b1_58-3B";

INSTANTIATE_TEST_SUITE_P(
    Shared, ConvertedTokenizer,
    ::testing::Values(
        // 2B-4T / Llama3-8B-1.58: LLaMA-3 tokenizer.json (+ 256 special tokens).
        TokenizerCase{"llama3_json",
                      {{"tokenizers/llama3/tokenizer.json", "tokenizer.json"},
                       {"tokenizers/llama3/tokenizer_config.json", "tokenizer_config.json"}},
                      128256,
                      "ggml-vocab-llama-bpe.gguf"},
        TokenizerCase{"llama3_tiktoken",
                      {{"tokenizers/llama3/tokenizer.model.tiktoken", "tokenizer.model.tiktoken"}},
                      128256,
                      "ggml-vocab-llama-bpe.gguf"},
        // 1bitLLM: tokenizer.model + the real 3B tokenizer_config.json / added_tokens.json (32002).
        TokenizerCase{"bitnet3b_spm",
                      {{"tokenizers/llama-spm/tokenizer.model", "tokenizer.model"},
                       {"configs/bitnet_b1_58-3B/tokenizer_config.json", "tokenizer_config.json"},
                       {"configs/bitnet_b1_58-3B/added_tokens.json", "added_tokens.json"}},
                      32002,
                      "ggml-vocab-llama-spm.gguf"},
        TokenizerCase{"bitnet3b_json",
                      {{"tokenizers/llama-spm/tokenizer.1bitllm.json", "tokenizer.json"},
                       {"configs/bitnet_b1_58-3B/tokenizer_config.json", "tokenizer_config.json"}},
                      32002,
                      "ggml-vocab-llama-spm.gguf"},
        TokenizerCase{"qwen3",
                      {{"tokenizers/qwen3/tokenizer.json", "tokenizer.json"},
                       {"tokenizers/qwen3/tokenizer_config.json", "tokenizer_config.json"}},
                      151936,
                      "qwen3"}),
    [](const ::testing::TestParamInfo<TokenizerCase>& info) { return std::string(info.param.name); });

// The 1bitLLM SentencePiece import puts the added tokens at their ids, as control tokens.
TEST(ConvertHfShared, SentencePieceAddedTokensAtTheirIds) {
  TRIT_REQUIRE_SHARED_DATA();
  const auto data = testing::shared_data_dir();
  const auto dir = fresh_dir("spm-added");
  fs::copy_file(data / "tokenizers/llama-spm/tokenizer.model", dir / "tokenizer.model");
  fs::copy_file(data / k3B / "tokenizer_config.json", dir / "tokenizer_config.json");
  fs::copy_file(data / k3B / "added_tokens.json", dir / "added_tokens.json");
  const auto v = load_hf_vocab(dir, 32002);
  ASSERT_EQ(v.n_tokens(), 32002);
  EXPECT_EQ(v.tokens[32000], "<pad>");
  EXPECT_EQ(v.tokens[32001], "</line>");
  EXPECT_EQ(v.type(32001), tokenizer::TokenType::kControl);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.pad_id, 32000);
  EXPECT_EQ(v.add_bos, true);
  EXPECT_THROW(load_hf_vocab(dir, 31000), Error) << "more tokens than the model";
}

}  // namespace
}  // namespace trit::convert
