// The embedding architectures (qwen3: BitNet-embedding-0.6B, gemma3: BitNet-embedding-270M) against an
// independent float64 re-computation written here from bitnet.cpp's docs/bitnet-embeddings-i2s-guide.md:
// every projection W · RMSNorm(input, <proj>_norm_in) as a BitLinear, per-head Q/K norms, Gemma's
// sqrt(n_embd) embedding scale, post-norms and GELU, last-token pooling, L2 normalisation.
#include "model/embedding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf/reader.h"
#include "model/dummy.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/error.h"
#include "support/float64_reference.h"
#include "support/test_data.h"
#include "tensor/codec.h"
#include "tensor/families.h"

namespace trit::model {
namespace {

using testing::Vec;

class Float64Embedder {
 public:
  explicit Float64Embedder(const std::string& path) : r_(gguf::Reader::open(path)) {
    const std::string arch = r_.get_string("general.architecture");
    const std::string p = arch + ".";
    gemma_ = arch == "gemma3";
    n_embd_ = r_.get_int(p + "embedding_length");
    n_layer_ = r_.get_int(p + "block_count");
    n_head_ = r_.get_int(p + "attention.head_count");
    n_head_kv_ = r_.get_int(p + "attention.head_count_kv");
    head_dim_ = r_.get_int(p + "attention.key_length");
    base_ = r_.get_float(p + "rope.freq_base");
    window_ = r_.find_int(p + "attention.sliding_window").value_or(0);
    eps_ = r_.get_float(p + "attention.layer_norm_rms_epsilon");
  }

  // The L2-normalised last-token embedding of `tokens` (from position 0).
  Vec embed(const std::vector<int32_t>& tokens) {
    const int64_t n = static_cast<int64_t>(tokens.size());
    const Vec table = get("token_embd.weight");
    std::vector<Vec> x(n);
    for (int64_t t = 0; t < n; ++t) {
      x[t].assign(table.begin() + tokens[t] * n_embd_, table.begin() + (tokens[t] + 1) * n_embd_);
      if (gemma_)
        for (double& e : x[t]) e *= std::sqrt(static_cast<double>(n_embd_));
    }
    const int64_t hd = head_dim_;
    for (int64_t l = 0; l < n_layer_; ++l) {
      const std::string b = "blk." + std::to_string(l) + ".";
      std::vector<Vec> q(n), k(n), v(n);
      for (int64_t t = 0; t < n; ++t) {
        const Vec h = rmsnorm(x[t], get(b + "attn_norm.weight"));
        q[t] = projection(b + "attn_q", h);
        k[t] = projection(b + "attn_k", h);
        v[t] = projection(b + "attn_v", h);
        for (int64_t i = 0; i < n_head_; ++i) head_norm_and_rope(q[t], i * hd, get(b + "attn_q_norm.weight"), t);
        for (int64_t i = 0; i < n_head_kv_; ++i) head_norm_and_rope(k[t], i * hd, get(b + "attn_k_norm.weight"), t);
      }
      for (int64_t t = 0; t < n; ++t) {
        Vec att(n_head_ * hd, 0.0);
        for (int64_t i = 0; i < n_head_; ++i) {
          const int64_t kvh = i / (n_head_ / n_head_kv_);
          // Gemma 3's sliding window: on every layer but each 6th, position t sees t - window + 1 .. t.
          const bool local = gemma_ && window_ > 0 && (l + 1) % 6 != 0;
          const int64_t first = local ? std::max<int64_t>(0, t - window_ + 1) : 0;
          Vec s(t + 1, 0.0);
          for (int64_t p = first; p <= t; ++p) {
            double dot = 0;
            for (int64_t d = 0; d < hd; ++d) dot += q[t][i * hd + d] * k[p][kvh * hd + d];
            s[p] = dot / std::sqrt(static_cast<double>(hd));
          }
          const double mx = *std::max_element(s.begin() + first, s.end());
          double sum = 0;
          for (int64_t p = first; p <= t; ++p) sum += (s[p] = std::exp(s[p] - mx));
          for (int64_t p = first; p <= t; ++p)
            for (int64_t d = 0; d < hd; ++d) att[i * hd + d] += s[p] / sum * v[p][kvh * hd + d];
        }
        Vec o = projection(b + "attn_output", att);
        if (gemma_) o = rmsnorm(o, get(b + "post_attention_norm.weight"));
        for (int64_t i = 0; i < n_embd_; ++i) x[t][i] += o[i];
        const Vec h = rmsnorm(x[t], get(b + "ffn_norm.weight"));
        Vec g = projection(b + "ffn_gate", h);
        const Vec u = projection(b + "ffn_up", h);
        for (size_t i = 0; i < g.size(); ++i) {
          const double z = g[i];
          const double act = gemma_ ? 0.5 * z * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (z + 0.044715 * z * z * z)))
                                    : z / (1.0 + std::exp(-z));
          g[i] = act * u[i];
        }
        Vec dn = projection(b + "ffn_down", g);
        if (gemma_) dn = rmsnorm(dn, get(b + "post_ffw_norm.weight"));
        for (int64_t i = 0; i < n_embd_; ++i) x[t][i] += dn[i];
      }
    }
    Vec e = rmsnorm(x.back(), get("output_norm.weight"));
    double ss = 0;
    for (double v : e) ss += v * v;
    for (double& v : e) v /= std::sqrt(ss);
    return e;
  }

 private:
  Vec get(const std::string& name) { return testing::decoded(r_, name); }
  Vec rmsnorm(const Vec& x, const Vec& w) const { return testing::rms_norm_f64(x, w, eps_); }
  // BitLinear with its own input norm: RMSNorm(x, <base>_norm_in), then BitLinear.
  Vec projection(const std::string& base, const Vec& input) {
    return testing::bitlinear_f64(r_, base + ".weight", rmsnorm(input, get(base + "_norm_in.weight")));
  }
  // RMSNorm over one head, then NEOX RoPE (pairs i, i + head_dim/2).
  void head_norm_and_rope(Vec& v, int64_t off, const Vec& w, int64_t pos) const {
    const Vec head = rmsnorm(Vec(v.begin() + off, v.begin() + off + head_dim_), w);
    std::copy(head.begin(), head.end(), v.begin() + off);
    testing::rope_f64(v, off, head_dim_, pos, base_, /*neox=*/true);
  }

  gguf::Reader r_;
  bool gemma_ = false;
  int64_t n_embd_, n_layer_, n_head_, n_head_kv_, head_dim_, window_;
  double base_, eps_;
};

std::string write_model(const std::string& name, DummyShape shape, uint32_t type_id = 36) {
  const auto dir = testing::make_temp_dir("trit-embed");
  DummyOptions o;
  o.path = (dir / (name + ".gguf")).string();
  o.shape = std::move(shape);
  o.type_id = type_id;
  o.seed = 5;
  o.show_progress = false;
  write_dummy_model(o);
  return o.path;
}

// The released models' block shapes with a small vocabulary and 2 layers (the 0.6B: hidden 1024,
// 16/8 heads of 128, FFN 3072; the 270M: hidden 640, 4/1 heads of 256, FFN 2048).
DummyShape reduced(const std::string& name) {
  DummyShape s = find_dummy_shape(name);
  s.n_layer = 2;
  s.n_vocab = 400;
  return s;
}

const std::vector<int32_t> kTokens = {1, 17, 250, 3, 99, 42, 7, 2};

std::vector<float> engine_embedding(const Model& m, const std::vector<int32_t>& tokens, KvType kv, int threads = 2) {
  Forward fwd(m, threads);
  KvCache cache(m.hparams(), static_cast<int64_t>(tokens.size()), kv);
  const SequenceInput in{&cache, tokens};
  auto out = fwd.embed({&in, 1})[0];
  return {out.begin(), out.end()};
}

void expect_matches_float64(const std::string& path) {
  auto m = Model::load(path, {.show_progress = false});
  const auto got = engine_embedding(*m, kTokens, KvType::kF32);
  const Vec want = Float64Embedder(path).embed(kTokens);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(static_cast<int64_t>(got.size()), m->hparams().n_embd);
  double dot = 0, ng = 0, nw = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    dot += got[i] * want[i];
    ng += static_cast<double>(got[i]) * got[i];
    nw += want[i] * want[i];
  }
  EXPECT_NEAR(std::sqrt(ng), 1.0, 1e-5) << "engine embedding is not unit-norm";
  EXPECT_NEAR(std::sqrt(nw), 1.0, 1e-12);
  EXPECT_GT(dot / std::sqrt(ng * nw), 0.9999) << path;
}

TEST(Embedding, Qwen3TinyMatchesFloat64Reference) {
  expect_matches_float64(write_model("qwen3-tiny", find_dummy_shape("embed-qwen3-tiny")));
}

TEST(Embedding, Gemma3TinyMatchesFloat64Reference) {
  expect_matches_float64(write_model("gemma3-tiny", find_dummy_shape("embed-gemma3-tiny")));
}

TEST(Embedding, Qwen3Embedding06BBlockShapeMatchesFloat64Reference) {
  expect_matches_float64(write_model("qwen3-0.6B", reduced("embed-0.6B")));
}

TEST(Embedding, Gemma3Embedding270MBlockShapeMatchesFloat64Reference) {
  expect_matches_float64(write_model("gemma3-270M", reduced("embed-270M")));
}

TEST(Embedding, Gemma3SlidingWindowLayersMatchFloat64Reference) {
  DummyShape shape = find_dummy_shape("embed-gemma3-tiny");
  shape.n_layer = 7;  // layers 0-4 and 6 local, 5 global
  shape.sliding_window = 3;
  const auto path = write_model("gemma3-swa", shape);
  expect_matches_float64(path);
  auto m = Model::load(path, {.show_progress = false});
  EXPECT_EQ(m->hparams().n_swa, 3);
  EXPECT_TRUE(m->hparams().is_swa_layer(4));
  EXPECT_FALSE(m->hparams().is_swa_layer(5));
  shape.sliding_window = 0;
  auto full = Model::load(write_model("gemma3-full", shape), {.show_progress = false});
  const auto a = engine_embedding(*m, kTokens, KvType::kF32), b = engine_embedding(*full, kTokens, KvType::kF32);
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += a[i] * b[i];
  EXPECT_LT(dot, 0.999) << "the window changes the embedding";
}

TEST(Embedding, HyperparametersOfTheRealShapesAreRead) {
  auto m = Model::load(write_model("g", reduced("embed-270M")), {.show_progress = false});
  const HParams& h = m->hparams();
  EXPECT_EQ(h.arch, "gemma3");
  EXPECT_EQ(h.head_dim, 256);
  EXPECT_EQ(h.n_embd_q(), 1024);
  EXPECT_EQ(h.n_head_kv, 1);
  EXPECT_EQ(h.pooling, Pooling::kLast);
  EXPECT_EQ(h.ffn_act, kernels::FfnActivation::kGeluTanh);
  EXPECT_TRUE(h.traits.embd_scale);
  EXPECT_TRUE(m->weights().layers[0].has_norm_in());
  EXPECT_EQ(m->tokenizer().encode("ab", true, false).back(), 2) << "EOS appended for last-token pooling";
}

// Several inputs in one forward pass, each with its own cache sized to its tokens: every embedding
// is bit-identical to the input's embedding alone, with f16 and f32 caches and any thread count.
TEST(Embedding, BatchedInputsEqualAlone) {
  DummyShape swa = find_dummy_shape("embed-gemma3-tiny");
  swa.name = "gemma3-sliding-window";
  swa.sliding_window = 3;
  for (const DummyShape& shape : {find_dummy_shape("embed-qwen3-tiny"), find_dummy_shape("embed-gemma3-tiny"), swa}) {
    auto m = Model::load(write_model(shape.name, shape), {.show_progress = false});
    const std::vector<std::vector<int32_t>> inputs = {{1, 5, 9, 200, 2}, {1, 2}, {3}, {1, 7, 7, 7, 7, 7, 7, 7, 7, 2}};
    for (KvType kv : {KvType::kF16, KvType::kF32}) {
      std::vector<std::vector<float>> alone;
      for (const auto& in : inputs) alone.push_back(engine_embedding(*m, in, kv, 1));
      Forward fwd(*m, 3);
      std::vector<KvCache> caches;
      std::vector<SequenceInput> batch;
      for (const auto& in : inputs) caches.emplace_back(m->hparams(), static_cast<int64_t>(in.size()), kv);
      for (size_t i = 0; i < inputs.size(); ++i) batch.push_back({&caches[i], inputs[i]});
      const auto out = fwd.embed(batch);
      ASSERT_EQ(out.size(), inputs.size());
      for (size_t i = 0; i < inputs.size(); ++i)
        for (size_t j = 0; j < alone[i].size(); ++j)
          ASSERT_EQ(out[i][j], alone[i][j]) << shape.name << " input " << i << " dim " << j;
    }
  }
}

TEST(Embedding, UnnormalisedOutputIsThePooledHiddenState) {
  auto m = Model::load(write_model("q", find_dummy_shape("embed-qwen3-tiny")), {.show_progress = false});
  Forward fwd(*m, 2);
  KvCache a(m->hparams(), 16, KvType::kF32), b(m->hparams(), 16, KvType::kF32);
  const SequenceInput in_a{&a, kTokens}, in_b{&b, kTokens};
  const auto raw = fwd.embed({&in_a, 1}, /*normalize=*/false)[0];
  const std::vector<float> raw_copy(raw.begin(), raw.end());
  const auto unit = fwd.embed({&in_b, 1})[0];
  double ss = 0;
  for (float v : raw_copy) ss += static_cast<double>(v) * v;
  EXPECT_GT(std::sqrt(ss), 1.5) << "output_norm'd hidden states of width 256 have norm ~16";
  for (size_t i = 0; i < raw_copy.size(); ++i) EXPECT_NEAR(unit[i], raw_copy[i] / std::sqrt(ss), 1e-6);
}

TEST(Embedding, GenerativeEvalStillRunsOnTiedEmbeddingModels) {
  auto m = Model::load(write_model("g2", find_dummy_shape("embed-gemma3-tiny")), {.show_progress = false});
  Forward fwd(*m, 2);
  KvCache cache(m->hparams(), 16, KvType::kF16);
  const SequenceInput in{&cache, kTokens};
  const auto logits = fwd.eval({&in, 1})[0];
  EXPECT_EQ(static_cast<int64_t>(logits.size()), m->hparams().n_vocab);
  EXPECT_TRUE(std::all_of(logits.begin(), logits.end(), [](float v) { return std::isfinite(v); }));
}

}  // namespace
}  // namespace trit::model

namespace trit::model {
namespace {

TEST(Embedder, EmbedsEachInputAsForwardDoesAlone) {
  auto m = Model::load(write_model("e", find_dummy_shape("embed-qwen3-tiny")), {.show_progress = false});
  const std::vector<std::vector<int32_t>> inputs = {embedding_tokens(m->tokenizer(), "hello world"),
                                                    embedding_tokens(m->tokenizer(), "x")};
  EXPECT_EQ(inputs[0].back(), 2) << "EOS appended (tokenizer.ggml.add_eos_token)";
  Embedder embedder(*m, 2, KvType::kF16);
  const auto out = embedder.embed(inputs);
  ASSERT_EQ(out.size(), 2u);
  for (size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(out[i], engine_embedding(*m, inputs[i], KvType::kF16, 1));
  EXPECT_THROW(embedding_tokens(m->tokenizer(), "hello world", 1), trit::Error);
}

// The I2_S bytes bitnet.cpp's convert-bitnet-embedding-to-gguf.py writes (packed here from the guide:
// codes -1/0/+1 -> 0/1/2, 128-value blocks of 32 bytes, byte = c0 << 6 | c1 << 4 | c2 << 2 | c3 for
// values j, j + 32, j + 64, j + 96, then 32 bytes holding the float32 scale) read back exactly.
TEST(Embedder, I2SAsBitnetEmbeddingConverterPacksItReadsBack) {
  const int64_t rows = 4, cols = 640;  // 270M's hidden size: 5 blocks per row
  std::vector<int8_t> q(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>((i * 7 + i / 13) % 3) - 1;
  const float scale = 0.0123f;
  std::vector<uint8_t> bytes(q.size() / 4 + 32, 0);
  for (size_t b = 0; b < q.size() / 128; ++b)
    for (size_t j = 0; j < 32; ++j) {
      uint8_t byte = 0;
      for (size_t c = 0; c < 4; ++c) byte |= static_cast<uint8_t>((q[b * 128 + c * 32 + j] + 1) << (6 - 2 * c));
      bytes[b * 32 + j] = byte;
    }
  std::memcpy(bytes.data() + q.size() / 4, &scale, sizeof scale);
  const tensor::TernaryMatrix m = tensor::unpack_i2_s(bytes, rows, cols, "test");
  EXPECT_EQ(m.values, q);
  EXPECT_EQ(m.scales[0], scale);
}

TEST(Embedder, Int8QuantisationUsesThePerVectorAbsmaxScale) {
  const std::vector<float> x = {0.5f, -0.25f, 0.0f, 0.1f, -0.5f};
  std::vector<int8_t> q(x.size());
  const float scale = quantize_embedding_int8(x, q);
  EXPECT_FLOAT_EQ(scale, 0.5f / 127.0f);
  EXPECT_EQ(q, (std::vector<int8_t>{127, -64, 0, 25, -127}));
  const std::vector<float> zero(3, 0.0f);
  std::vector<int8_t> qz(3, 5);
  EXPECT_EQ(quantize_embedding_int8(zero, qz), 0.0f);
  EXPECT_EQ(qz, (std::vector<int8_t>(3, 0)));
}

TEST(Embedder, BinaryQuantisationPacksSignBitsFirstDimensionHigh) {
  std::vector<float> x(10, -1.0f);
  x[0] = 0.3f;
  x[7] = 1.0f;
  x[9] = 0.01f;
  EXPECT_EQ(quantize_embedding_binary(x), (std::vector<uint8_t>{0x81, 0x40}));
}

}  // namespace
}  // namespace trit::model
