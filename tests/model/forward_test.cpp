// The reference forward pass against an independent float64 re-computation written here from the
// model definition (docs/architecture.md), on small random models in the real file format.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gguf/reader.h"
#include "model/context.h"
#include "model/dummy.h"
#include "model/model.h"
#include "runtime/error.h"
#include "support/float64_reference.h"
#include "support/test_data.h"
#include "tensor/codec.h"

namespace trit::model {
namespace {

using testing::Vec;

// Everything in double, weights decoded with the tensor codecs (not the model's binding code).
class Float64Reference {
 public:
  explicit Float64Reference(const std::string& path) : r_(gguf::Reader::open(path)) {
    arch_ = r_.get_string("general.architecture");
    const std::string p = arch_ + ".";
    n_embd_ = r_.get_int(p + "embedding_length");
    n_layer_ = r_.get_int(p + "block_count");
    n_head_ = r_.get_int(p + "attention.head_count");
    n_head_kv_ = r_.get_int(p + "attention.head_count_kv");
    n_ff_ = r_.get_int(p + "feed_forward_length");
    head_dim_ = n_embd_ / n_head_;
    base_ = r_.get_float(p + "rope.freq_base");
    eps_ = r_.get_float(p + "attention.layer_norm_rms_epsilon");
    bitnet_ = arch_ != "llama";
    relu2_ = arch_ == "bitnet-b1.58" || arch_ == "bitnet-25";
    neox_ = bitnet_;
  }

  // Logits (double) of every position for `tokens` processed from position 0.
  std::vector<Vec> logits(const std::vector<int32_t>& tokens) {
    const int64_t n = static_cast<int64_t>(tokens.size());
    const Vec embd = get("token_embd.weight");
    const int64_t n_vocab = static_cast<int64_t>(embd.size()) / n_embd_;
    std::vector<Vec> x(n);
    for (int64_t t = 0; t < n; ++t)
      x[t].assign(embd.begin() + tokens[t] * n_embd_, embd.begin() + (tokens[t] + 1) * n_embd_);
    for (int64_t l = 0; l < n_layer_; ++l) {
      const std::string b = "blk." + std::to_string(l) + ".";
      std::vector<Vec> q(n), k(n), v(n);
      for (int64_t t = 0; t < n; ++t) {
        Vec h = rmsnorm(x[t], get(b + "attn_norm.weight"));
        q[t] = bitlinear(b + "attn_q.weight", h);
        k[t] = bitlinear(b + "attn_k.weight", h);
        v[t] = bitlinear(b + "attn_v.weight", h);
        for (int64_t hd = 0; hd < n_head_; ++hd) rope(q[t], hd * head_dim_, t);
        for (int64_t hd = 0; hd < n_head_kv_; ++hd) rope(k[t], hd * head_dim_, t);
      }
      for (int64_t t = 0; t < n; ++t) {
        Vec att(n_head_ * head_dim_, 0.0);
        for (int64_t hd = 0; hd < n_head_; ++hd) {
          const int64_t kvh = hd / (n_head_ / n_head_kv_);
          Vec s(t + 1);
          for (int64_t p = 0; p <= t; ++p) {
            double dot = 0;
            for (int64_t d = 0; d < head_dim_; ++d) dot += q[t][hd * head_dim_ + d] * k[p][kvh * head_dim_ + d];
            s[p] = dot / std::sqrt(static_cast<double>(head_dim_));
          }
          const double mx = *std::max_element(s.begin(), s.end());
          double sum = 0;
          for (auto& e : s) sum += (e = std::exp(e - mx));
          for (int64_t p = 0; p <= t; ++p)
            for (int64_t d = 0; d < head_dim_; ++d) att[hd * head_dim_ + d] += s[p] / sum * v[p][kvh * head_dim_ + d];
        }
        if (bitnet_) att = rmsnorm(att, get(b + "attn_sub_norm.weight"));
        const Vec o = bitlinear(b + "attn_output.weight", att);
        for (int64_t i = 0; i < n_embd_; ++i) x[t][i] += o[i];
        const Vec h = rmsnorm(x[t], get(b + "ffn_norm.weight"));
        Vec g = bitlinear(b + "ffn_gate.weight", h);
        const Vec u = bitlinear(b + "ffn_up.weight", h);
        for (int64_t i = 0; i < n_ff_; ++i) {
          const double a = relu2_ ? (g[i] > 0 ? g[i] * g[i] : 0.0) : g[i] / (1.0 + std::exp(-g[i]));
          g[i] = a * u[i];
        }
        if (bitnet_) g = rmsnorm(g, get(b + "ffn_sub_norm.weight"));
        const Vec dn = bitlinear(b + "ffn_down.weight", g);
        for (int64_t i = 0; i < n_embd_; ++i) x[t][i] += dn[i];
      }
    }
    std::vector<Vec> out(n, Vec(n_vocab));
    for (int64_t t = 0; t < n; ++t) {
      const Vec h = rmsnorm(x[t], get("output_norm.weight"));
      for (int64_t r = 0; r < n_vocab; ++r) {
        double acc = 0;
        for (int64_t c = 0; c < n_embd_; ++c) acc += embd[r * n_embd_ + c] * h[c];
        out[t][r] = acc;
      }
    }
    return out;
  }

 private:
  Vec get(const std::string& name) { return testing::decoded(r_, name); }
  Vec rmsnorm(const Vec& x, const Vec& w) const { return testing::rms_norm_f64(x, w, eps_); }
  Vec bitlinear(const std::string& name, const Vec& x) { return testing::bitlinear_f64(r_, name, x); }
  void rope(Vec& v, int64_t off, int64_t pos) const { testing::rope_f64(v, off, head_dim_, pos, base_, neox_); }

  gguf::Reader r_;
  std::string arch_;
  int64_t n_embd_, n_layer_, n_head_, n_head_kv_, n_ff_, head_dim_;
  double base_, eps_;
  bool bitnet_, relu2_, neox_;
};

std::string write_model(const std::string& name, DummyShape shape, uint32_t type_id) {
  const auto dir = testing::make_temp_dir("trit-forward");
  DummyOptions o;
  o.path = (dir / (name + ".gguf")).string();
  o.shape = std::move(shape);
  o.type_id = type_id;
  o.seed = 7;
  o.show_progress = false;
  write_dummy_model(o);
  return o.path;
}

DummyShape small_shape(const std::string& arch, int64_t n_head_kv) {
  return {"test", arch, 256, 512, 2, 4, n_head_kv, 300, 128, 10000.0};
}

const std::vector<int32_t> kTokens = {1, 17, 250, 3, 99, 42, 7};

// Logits from the engine vs float64: int8 rounding of activations may land on the other side of a
// .5 boundary in float vs double, which moves a logit by about one quantisation step, so the
// tolerance is relative to the logits' spread: max |diff| <= 1e-3 * max |logit| + 1e-3.
void expect_matches_reference(const std::string& path) {
  auto m = Model::load(path, {.show_progress = false});
  Context ctx(*m, {.n_ctx = 64, .n_threads = 2, .kv_type = KvType::kF32});
  auto got = ctx.eval(kTokens, /*all_logits=*/true);
  Float64Reference ref(path);
  const auto want = ref.logits(kTokens);
  const int64_t n_vocab = m->hparams().n_vocab;
  ASSERT_EQ(got.size(), kTokens.size() * n_vocab);
  for (size_t t = 0; t < kTokens.size(); ++t) {
    double max_abs = 0, max_diff = 0;
    for (int64_t r = 0; r < n_vocab; ++r) {
      max_abs = std::max(max_abs, std::fabs(want[t][r]));
      max_diff = std::max(max_diff, std::fabs(want[t][r] - got[t * n_vocab + r]));
    }
    EXPECT_LE(max_diff, 1e-3 * max_abs + 1e-3) << "position " << t << " of " << path;
    EXPECT_GT(max_abs, 0.1) << "degenerate logits";
  }
}

TEST(Forward, BitnetI2SMatchesFloat64Reference) {
  expect_matches_reference(write_model("bitnet-i2s", small_shape("bitnet", 4), 36));
}

TEST(Forward, Bitnet2B4TShapeWithGqaAndReluSquaredMatchesReference) {
  expect_matches_reference(write_model("b158-i2s", small_shape("bitnet-b1.58", 2), 36));
}

TEST(Forward, LlamaShapedTernaryMatchesReference) {
  expect_matches_reference(write_model("llama-i2s", small_shape("llama", 2), 36));
}

TEST(Forward, TernaryTypesMatchReference) {
  for (uint32_t type : {34u, 35u})
    expect_matches_reference(write_model("tq" + std::to_string(type), small_shape("bitnet", 2), type));
}

TEST(Forward, FloatWeightsMatchReferenceWithinRounding) {
  // F16 linear weights hold the same ternary values times the scale; the engine uses float math
  // (as llama.cpp does for float types) while the reference quantises activations, so this pins
  // only that float weights load and produce close logits.
  const auto path = write_model("f32", small_shape("bitnet", 2), 0);
  auto m = Model::load(path, {.show_progress = false});
  Context ctx(*m, {.n_ctx = 64, .n_threads = 1, .kv_type = KvType::kF32});
  auto got = ctx.eval(kTokens);
  const auto want = Float64Reference(path).logits(kTokens).back();
  double max_abs = 0, max_diff = 0;
  for (size_t r = 0; r < want.size(); ++r) {
    max_abs = std::max(max_abs, std::fabs(want[r]));
    max_diff = std::max(max_diff, std::fabs(want[r] - got[r]));
  }
  EXPECT_LE(max_diff, 0.05 * max_abs);
}

TEST(Forward, BatchedPromptEqualsTokenByToken) {
  const auto path = write_model("batch", small_shape("bitnet-b1.58", 2), 36);
  auto m = Model::load(path, {.show_progress = false});
  Context batched(*m, {.n_ctx = 64, .n_threads = 2, .kv_type = KvType::kF32});
  auto all = batched.eval(kTokens, true);
  std::vector<float> batch_logits(all.begin(), all.end());
  Context single(*m, {.n_ctx = 64, .n_threads = 1, .kv_type = KvType::kF32});
  const int64_t n_vocab = m->hparams().n_vocab;
  for (size_t t = 0; t < kTokens.size(); ++t) {
    auto l = single.eval(std::span<const int32_t>(&kTokens[t], 1));
    for (int64_t r = 0; r < n_vocab; ++r)
      ASSERT_EQ(l[r], batch_logits[t * n_vocab + r]) << "token " << t << " logit " << r;
  }
}

TEST(Forward, F16CacheStaysCloseToF32Cache) {
  const auto path = write_model("f16cache", small_shape("bitnet-b1.58", 2), 36);
  auto m = Model::load(path, {.show_progress = false});
  Context f32(*m, {.n_ctx = 64, .n_threads = 2, .kv_type = KvType::kF32});
  Context f16(*m, {.n_ctx = 64, .n_threads = 2, .kv_type = KvType::kF16});
  auto a = f32.eval(kTokens);
  std::vector<float> want(a.begin(), a.end());
  auto b = f16.eval(kTokens);
  double max_abs = 0, max_diff = 0;
  for (size_t r = 0; r < want.size(); ++r) {
    max_abs = std::max(max_abs, double(std::fabs(want[r])));
    max_diff = std::max(max_diff, double(std::fabs(want[r] - b[r])));
  }
  // Half precision keeps 11 significant bits; through two layers the logits move by far less than 2%.
  EXPECT_LE(max_diff, 0.02 * max_abs);
}

TEST(Forward, F16CacheKeepsItsValuesWhenItGrows) {
  // The transposed f16 values start with room for 256 positions and grow; what was cached must survive.
  const auto path = write_model("grow", small_shape("bitnet-b1.58", 2), 36);
  auto m = Model::load(path, {.show_progress = false});
  std::vector<int32_t> tokens(250);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 37 + 11) % 300);
  Context f16(*m, {.n_ctx = 600, .n_threads = 2, .kv_type = KvType::kF16});
  Context f32(*m, {.n_ctx = 600, .n_threads = 2, .kv_type = KvType::kF32});
  f16.eval(tokens);
  f32.eval(tokens);
  std::vector<float> a, b;
  for (int32_t i = 0; i < 60; ++i) {  // crosses 256, then 512 is not needed: capacity 512 holds 310
    const int32_t id = (i * 13 + 5) % 300;
    auto la = f16.eval(std::vector<int32_t>{id});
    a.assign(la.begin(), la.end());
    auto lb = f32.eval(std::vector<int32_t>{id});
    b.assign(lb.begin(), lb.end());
  }
  double max_abs = 0, max_diff = 0;
  for (size_t r = 0; r < a.size(); ++r) {
    max_abs = std::max(max_abs, double(std::fabs(b[r])));
    max_diff = std::max(max_diff, double(std::fabs(a[r] - b[r])));
  }
  EXPECT_LE(max_diff, 0.02 * max_abs);
}

TEST(Forward, OutputQuantisedToQ8StaysClose) {
  const auto path = write_model("q8out", small_shape("bitnet-b1.58", 2), 36);
  auto f16 = Model::load(path, {.show_progress = false});
  auto q8 = Model::load(path, {.show_progress = false, .output_q8 = true});
  EXPECT_EQ(q8->weights().output.kind, Linear::Kind::kQ8);
  Context a(*f16, {.n_ctx = 64, .n_threads = 2});
  Context b(*q8, {.n_ctx = 64, .n_threads = 2});
  auto la = a.eval(kTokens, true);
  std::vector<float> want(la.begin(), la.end());
  auto got = b.eval(kTokens, true);
  ASSERT_EQ(got.size(), want.size());
  double max_abs = 0, max_diff = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_abs = std::max(max_abs, double(std::fabs(want[i])));
    max_diff = std::max(max_diff, double(std::fabs(want[i] - got[i])));
  }
  // 8-bit weights and activations per 32 values: about 1% of the largest logit.
  EXPECT_LE(max_diff, 0.03 * max_abs);
  EXPECT_GT(max_diff, 0.0);  // it is really a different path
}

TEST(Forward, ContextFullAndBadTokensAreErrors) {
  const auto path = write_model("errors", small_shape("bitnet", 4), 36);
  auto m = Model::load(path, {.show_progress = false});
  Context ctx(*m, {.n_ctx = 4, .n_threads = 1});
  EXPECT_THROW(ctx.eval(std::vector<int32_t>{1, 2, 3, 4, 5}), Error);
  EXPECT_THROW(ctx.eval(std::vector<int32_t>{100000}), Error);
  EXPECT_THROW(ctx.eval(std::vector<int32_t>{-1}), Error);
  EXPECT_NO_THROW(ctx.eval(std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_THROW(ctx.eval(std::vector<int32_t>{1}), Error);
  ctx.truncate(2);
  EXPECT_NO_THROW(ctx.eval(std::vector<int32_t>{1}));
}

TEST(Forward, UnknownArchitectureIsRefusedByName) {
  const auto path = write_model("arch", small_shape("bitnet", 4), 36);
  // Patch the architecture string in place: "bitnet" -> "bitneX" keeps every length and offset.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto pos = bytes.find("bitnet");
  ASSERT_NE(pos, std::string::npos);
  bytes[pos + 5] = 'X';
  {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
  }
  try {
    Model::load(path, {.show_progress = false});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("architecture 'bitneX' is not supported"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace trit::model
