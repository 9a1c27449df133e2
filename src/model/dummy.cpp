// write_dummy_model: metadata and tokenizer, the tensor table, then each tensor generated and written
// in turn (weights of one tensor in memory at a time).
#include "model/dummy.h"

#include <cmath>
#include <random>

#include "gguf/ggml_type.h"
#include "gguf/writer.h"
#include "model/hparams.h"
#include "model/metadata.h"
#include "runtime/error.h"
#include "runtime/progress.h"
#include "tensor/codec.h"

namespace trit::model {

const std::vector<DummyShape>& dummy_shapes() {
  // bitnet.cpp's utils/generate-dummy-bitnet-model.py shapes (multi-head attention, the 1bitLLM
  // vocabulary of 32002), then the released models' exact shapes.
  static const std::vector<DummyShape> shapes = {
      {"125M", "bitnet", 768, 3072, 11, 12, 12, 32002, 2048, 10000.0},
      {"350M", "bitnet", 1024, 3072, 24, 16, 16, 32002, 2048, 10000.0},
      {"1B", "bitnet", 2048, 3584, 24, 32, 32, 32002, 2048, 10000.0},
      {"1.5B", "bitnet", 1536, 9216, 28, 32, 32, 32002, 2048, 10000.0},
      {"2.7B", "bitnet", 3072, 7680, 24, 32, 32, 32002, 2048, 10000.0},
      {"3.8B", "bitnet", 3840, 8192, 24, 32, 32, 32002, 2048, 10000.0},
      {"7B", "bitnet", 4096, 12032, 32, 32, 32, 32002, 2048, 10000.0},
      {"13B", "bitnet", 5120, 13824, 40, 40, 40, 32002, 2048, 10000.0},
      {"30B", "bitnet", 6656, 16384, 60, 52, 52, 32002, 2048, 10000.0},
      {"70B", "bitnet", 8192, 24576, 80, 64, 64, 32002, 2048, 10000.0},
      {"100B", "bitnet", 8192, 45568, 72, 64, 64, 32002, 2048, 10000.0},
      {"large", "bitnet", 1536, 4096, 24, 16, 16, 32002, 2048, 10000.0},         // 1bitLLM/bitnet_b1_58-large
      {"3B", "bitnet", 3200, 8640, 26, 32, 32, 32002, 2048, 10000.0},            // 1bitLLM/bitnet_b1_58-3B
      {"2B-4T", "bitnet-b1.58", 2560, 6912, 30, 20, 5, 128256, 4096, 500000.0},  // microsoft/bitnet-b1.58-2B-4T
      {"llama3-8B", "llama", 4096, 14336, 32, 32, 8, 128256, 8192, 500000.0},    // HF1BitLLM/Llama3-8B-1.58-100B-tokens
      {"tiny", "bitnet", 256, 512, 2, 4, 2, 512, 256, 10000.0},                  // tests
      // microsoft/bitnet-embedding-0.6b (Qwen3) and -270m (Gemma 3), and small shapes of both for tests
      // (head_dim differs from n_embd / n_head, as in the real ones).
      {"embed-0.6B", "qwen3", 1024, 3072, 28, 16, 8, 151936, 32768, 1000000.0, 128, 1e-6},
      {"embed-270M", "gemma3", 640, 2048, 18, 4, 1, 262144, 32768, 10000.0, 256, 1e-6},
      {"embed-qwen3-tiny", "qwen3", 256, 512, 2, 4, 2, 512, 512, 1000000.0, 128, 1e-6},
      {"embed-gemma3-tiny", "gemma3", 256, 512, 2, 4, 1, 512, 512, 10000.0, 128, 1e-6},
  };
  return shapes;
}

const DummyShape& find_dummy_shape(const std::string& name) {
  std::string known;
  for (const auto& s : dummy_shapes()) {
    if (s.name == name) return s;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  trit::fail("unknown model shape '{}' (known: {})", name, known);
}

tokenizer::Vocab synthetic_vocab(int64_t n_tokens) {
  using tokenizer::TokenType;
  tokenizer::Vocab v;
  v.model = "llama";
  v.pre = "default";
  auto add = [&](std::string text, float score, TokenType type) {
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0.0f, TokenType::kUnknown);
  add("<s>", 0.0f, TokenType::kControl);
  add("</s>", 0.0f, TokenType::kControl);
  for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0.0f, TokenType::kByte);
  const std::string space = "\xE2\x96\x81";  // U+2581, SentencePiece's word-start mark
  const std::string letters = "etaoinshrdlucmfwypvbgkjqxz";
  std::vector<std::string> grams;
  for (char a : letters) grams.emplace_back(1, a);
  for (char a : letters)
    for (char b : letters) grams.push_back(std::string{a, b});
  for (char a : letters)
    for (char b : letters)
      for (char c : letters) grams.push_back(std::string{a, b, c});
  float score = -1.0f;
  for (size_t i = 0; v.n_tokens() < n_tokens && i < grams.size(); ++i) {
    add(space + grams[i], score, TokenType::kNormal);
    if (v.n_tokens() < n_tokens) add(grams[i], score - 0.5f, TokenType::kNormal);
    score -= 1.0f;
  }
  while (v.n_tokens() < n_tokens) add(fmt::format("<unused{}>", v.n_tokens()), -1e9f, TokenType::kUnused);
  v.bos_id = 1;
  v.eos_id = 2;
  v.unk_id = 0;
  v.add_bos = true;
  v.add_eos = false;
  return v;
}

namespace {

struct PlannedTensor {
  std::string name;
  std::vector<uint64_t> shape;  // ggml order
  uint32_t type_id;
  enum Kind { kEmbedding, kNorm, kLinear } kind;
};

}  // namespace

void write_dummy_model(const DummyOptions& o) {
  const DummyShape& s = o.shape;
  const auto* traits = find_arch(s.arch);
  if (!traits) trit::fail("dummy shape '{}' names unknown architecture '{}'", s.name, s.arch);
  if (!tensor::is_encodable(o.type_id)) trit::fail("type {} cannot be written", gguf::type_name(o.type_id));
  tokenizer::Vocab vocab = o.vocab ? *o.vocab : synthetic_vocab(s.n_vocab);
  const int64_t n_vocab = vocab.n_tokens();
  const int64_t head_dim = s.head_dim ? s.head_dim : s.n_embd / s.n_head;
  const int64_t n_embd_q = head_dim * s.n_head;
  const int64_t n_embd_kv = head_dim * s.n_head_kv;
  // The embedding architectures as bitnet.cpp's convert-bitnet-embedding-to-gguf.py writes them:
  // per-projection input norms, last-token pooling, no output.weight.
  const bool embedding = s.arch == "qwen3" || s.arch == "gemma3";
  if (embedding && !o.vocab) vocab.add_eos = true;  // last-token pooling reads the appended EOS

  gguf::Writer w(o.path);
  const std::string p = s.arch + ".";
  write_arch_metadata(w, {.arch = s.arch,
                          .name = fmt::format("trit dummy {} (random weights)", s.name),
                          .file_type = o.type_id,
                          .n_vocab = n_vocab,
                          .n_ctx = s.n_ctx,
                          .n_embd = s.n_embd,
                          .n_layer = s.n_layer,
                          .n_ff = s.n_ff,
                          .n_head = s.n_head,
                          .n_head_kv = s.n_head_kv,
                          .head_dim = head_dim,
                          .rope_base = s.rope_base,
                          .rms_eps = s.rms_eps});
  if (s.sliding_window) w.add(p + "attention.sliding_window", gguf::Value(static_cast<uint32_t>(s.sliding_window)));
  if (embedding) w.add(p + "pooling_type", gguf::Value(static_cast<uint32_t>(Pooling::kLast)));
  vocab.write_gguf(w);

  // The tensor table, in llama.cpp's order.
  std::vector<PlannedTensor> plan;
  auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
  plan.push_back({"token_embd.weight",
                  {u(s.n_embd), u(n_vocab)},
                  static_cast<uint32_t>(gguf::GgmlType::F16),
                  PlannedTensor::kEmbedding});
  plan.push_back({"output_norm.weight", {u(s.n_embd)}, 0, PlannedTensor::kNorm});
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string b = fmt::format("blk.{}.", i);
    auto norm = [&](const std::string& name, int64_t n) {
      plan.push_back({b + name + ".weight", {u(n)}, 0, PlannedTensor::kNorm});
    };
    norm("attn_norm", s.n_embd);
    plan.push_back({b + "attn_q.weight", {u(s.n_embd), u(n_embd_q)}, o.type_id, PlannedTensor::kLinear});
    plan.push_back({b + "attn_k.weight", {u(s.n_embd), u(n_embd_kv)}, o.type_id, PlannedTensor::kLinear});
    plan.push_back({b + "attn_v.weight", {u(s.n_embd), u(n_embd_kv)}, o.type_id, PlannedTensor::kLinear});
    plan.push_back({b + "attn_output.weight", {u(n_embd_q), u(s.n_embd)}, o.type_id, PlannedTensor::kLinear});
    if (traits->sub_norms) norm("attn_sub_norm", n_embd_q);
    if (traits->qk_norm) {
      norm("attn_q_norm", head_dim);
      norm("attn_k_norm", head_dim);
    }
    if (embedding) {
      for (const char* name : {"attn_q_norm_in", "attn_k_norm_in", "attn_v_norm_in"}) norm(name, s.n_embd);
      norm("attn_output_norm_in", n_embd_q);
    }
    if (traits->post_norms) norm("post_attention_norm", s.n_embd);
    norm("ffn_norm", s.n_embd);
    plan.push_back({b + "ffn_gate.weight", {u(s.n_embd), u(s.n_ff)}, o.type_id, PlannedTensor::kLinear});
    plan.push_back({b + "ffn_up.weight", {u(s.n_embd), u(s.n_ff)}, o.type_id, PlannedTensor::kLinear});
    plan.push_back({b + "ffn_down.weight", {u(s.n_ff), u(s.n_embd)}, o.type_id, PlannedTensor::kLinear});
    if (traits->sub_norms) norm("ffn_sub_norm", s.n_ff);
    if (embedding) {
      norm("ffn_gate_norm_in", s.n_embd);
      norm("ffn_up_norm_in", s.n_embd);
      norm("ffn_down_norm_in", s.n_ff);
    }
    if (traits->post_norms) norm("post_ffw_norm", s.n_embd);
  }
  for (const auto& t : plan) {
    const bool lut = t.type_id == static_cast<uint32_t>(gguf::GgmlType::TL1) ||
                     t.type_id == static_cast<uint32_t>(gguf::GgmlType::TL2);
    if (lut &&
        !tensor::default_lut_config(t.type_id, static_cast<int64_t>(t.shape[1]), static_cast<int64_t>(t.shape[0])))
      trit::fail(
          "shape '{}' cannot be stored as {}: bitnet.cpp's lookup-table kernels are generated per matrix shape and "
          "none is known for tensor '{}' ({} x {}); use i2_s, or a shape with TL kernels (large, 3B, llama3-8B)",
          s.name, gguf::type_name(t.type_id), t.name, t.shape[1], t.shape[0]);
    if (!gguf::tensor_n_bytes(t.type_id, t.shape))
      trit::fail("shape '{}' cannot be stored as {}: tensor '{}' rows of {} do not fill whole blocks", s.name,
                 gguf::type_name(t.type_id), t.name, t.shape[0]);
    w.add_tensor(t.name, t.shape, t.type_id);
  }

  runtime::ProgressBar progress("writing", w.total_data_bytes(), runtime::ProgressBar::Unit::kBytes, !o.show_progress);
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> trit_dist(-1, 1);
  for (const auto& t : plan) {
    const int64_t cols = static_cast<int64_t>(t.shape[0]);
    const int64_t rows = t.shape.size() > 1 ? static_cast<int64_t>(t.shape[1]) : 1;
    std::vector<uint8_t> bytes;
    if (t.kind == PlannedTensor::kNorm) {
      std::vector<float> v(cols);
      for (auto& x : v) x = 1.0f + 0.1f * normal(rng);
      bytes = tensor::quantize(t.type_id, v, t.shape);
    } else if (t.kind == PlannedTensor::kEmbedding) {
      // Row by row so a 128k x 8k embedding never exists as floats all at once.
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> v(cols);
        for (auto& x : v) x = normal(rng);
        const uint64_t row_shape[] = {static_cast<uint64_t>(cols)};
        w.write_tensor_data(tensor::quantize(t.type_id, v, row_shape));
        progress.add(static_cast<uint64_t>(cols) * 2);
      }
      continue;
    } else {
      // Ternary weights with a per-tensor scale of 1/sqrt(cols): outputs keep the inputs' magnitude.
      tensor::TernaryMatrix m;
      m.rows = rows;
      m.cols = cols;
      m.group_size = cols;
      m.values.resize(static_cast<size_t>(rows * cols));
      for (auto& x : m.values) x = static_cast<int8_t>(trit_dist(rng));
      m.scales.assign(static_cast<size_t>(rows), 1.0f / std::sqrt(static_cast<float>(cols)));
      if (tensor::is_ternary(t.type_id)) {
        bytes = tensor::pack_ternary(t.type_id, m);
      } else {
        std::vector<float> v(m.values.size());
        for (size_t i = 0; i < v.size(); ++i) v[i] = m.values[i] * m.scales[0];
        bytes = tensor::quantize(t.type_id, v, t.shape);
      }
    }
    w.write_tensor_data(bytes);
    progress.add(bytes.size());
  }
  w.finish();
  progress.finish();
}

}  // namespace trit::model
