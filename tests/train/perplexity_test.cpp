// Perplexity: equal to exp(mean NLL) over the second half of each chunk, computed here independently from
// model::Context logits, with llama.cpp's standard error; batch splits agree; short texts are refused.
#include "train/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>

#include "model/context.h"
#include "model/dummy.h"
#include "runtime/error.h"
#include "support/test_data.h"

namespace trit::train {
namespace {

class Perplexity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto dir = testing::make_temp_dir("trit-perplexity");
    model::DummyOptions o;
    o.path = (dir / "tiny.gguf").string();
    o.shape = model::find_dummy_shape("tiny");
    o.seed = 5;
    o.show_progress = false;
    model::write_dummy_model(o);
    model_ = model::Model::load(o.path, {.show_progress = false}).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }

  static std::vector<int32_t> random_tokens(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> dist(3, static_cast<int32_t>(model_->hparams().n_vocab) - 1);
    std::vector<int32_t> out(n);
    for (auto& t : out) t = dist(rng);
    return out;
  }

  static model::Model* model_;
};
model::Model* Perplexity::model_ = nullptr;

// Log-softmax in double, written out again rather than calling token_nll.
double reference_nll(std::span<const float> row, int32_t target) {
  double max = row[0];
  for (float v : row) max = std::max(max, static_cast<double>(v));
  double sum = 0.0;
  for (float v : row) sum += std::exp(v - max);
  return std::log(sum) + max - row[target];
}

TEST_F(Perplexity, EqualsExpOfTheMeanNllOverTheSecondHalfOfEachChunk) {
  const int64_t n_ctx = 32;
  const std::vector<int32_t> tokens = random_tokens(3 * n_ctx + 7, 1);  // 3 chunks, a remainder left out
  const int32_t bos = model_->tokenizer().bos();
  ASSERT_EQ(perplexity_first_token(*model_), bos);  // the synthetic vocabulary adds BOS

  std::vector<double> nlls;
  std::vector<double> running;
  model::Context ctx(*model_, {.n_ctx = n_ctx, .n_threads = 2, .kv_type = model::KvType::kF32});
  const int64_t n_vocab = model_->hparams().n_vocab;
  for (int64_t c = 0; c < 3; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    chunk[0] = bos;
    ctx.reset();
    const std::span<const float> logits = ctx.eval(chunk, true);
    for (int64_t p = n_ctx / 2; p + 1 < n_ctx; ++p)
      nlls.push_back(reference_nll(logits.subspan(p * n_vocab, n_vocab), chunk[p + 1]));
    double sum = 0.0;
    for (double v : nlls) sum += v;
    running.push_back(std::exp(sum / static_cast<double>(nlls.size())));
  }
  double mean = 0.0, mean2 = 0.0;
  for (double v : nlls) {
    mean += v;
    mean2 += v * v;
  }
  const auto count = static_cast<double>(nlls.size());
  mean /= count;
  mean2 /= count;
  const double ppl = std::exp(mean);
  const double error = std::sqrt((mean2 - mean * mean) / (count - 1)) * ppl;

  PerplexityOptions o;
  o.n_ctx = n_ctx;
  o.n_threads = 2;
  o.kv_type = model::KvType::kF32;
  o.first_token = bos;
  int calls = 0;
  const PerplexityResult r = perplexity(*model_, tokens, o, [&](const PerplexityChunk& c) {
    EXPECT_EQ(c.index, calls);
    ++calls;
  });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(r.n_scored, 3 * (n_ctx - n_ctx / 2 - 1));
  ASSERT_EQ(r.chunks.size(), 3u);
  EXPECT_NEAR(r.ppl, ppl, 1e-9 * ppl);
  EXPECT_NEAR(r.ppl_error, error, 1e-6 * error);
  EXPECT_GT(r.ppl_error, 0.0);
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(r.chunks[c].running_ppl, running[c], 1e-9 * running[c]);
  EXPECT_NEAR(r.chunks.back().running_ppl, r.ppl, 1e-9 * r.ppl);
  // Random weights give confident, mostly wrong predictions: a large but finite PPL.
  EXPECT_GT(r.ppl, 1.0);
  EXPECT_TRUE(std::isfinite(r.ppl));
}

TEST_F(Perplexity, ChunkLimitAndBatchSplitsAgree) {
  const std::vector<int32_t> tokens = random_tokens(4 * 24, 2);
  PerplexityOptions o;
  o.n_ctx = 24;
  o.n_threads = 2;
  o.kv_type = model::KvType::kF32;
  const PerplexityResult all = perplexity(*model_, tokens, o);
  EXPECT_EQ(all.chunks.size(), 4u);
  o.n_chunks = 2;
  const PerplexityResult two = perplexity(*model_, tokens, o);
  ASSERT_EQ(two.chunks.size(), 2u);
  EXPECT_DOUBLE_EQ(two.chunks[1].running_ppl, all.chunks[1].running_ppl);
  // The same chunks fed 5 tokens per forward pass: the same logits up to float reordering.
  o.n_batch = 5;
  const PerplexityResult batched = perplexity(*model_, tokens, o);
  EXPECT_NEAR(batched.ppl, two.ppl, 1e-3 * two.ppl);
}

TEST_F(Perplexity, RefusesTextShorterThanTwoChunks) {
  const std::vector<int32_t> tokens = random_tokens(63, 3);
  PerplexityOptions o;
  o.n_ctx = 32;
  try {
    perplexity(*model_, tokens, o);
    FAIL() << "expected trit::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only 63 tokens"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at least 64"), std::string::npos) << e.what();
  }
  o.n_ctx = 2;
  EXPECT_THROW(perplexity(*model_, tokens, o), Error);
  std::vector<int32_t> bad = random_tokens(64, 4);
  bad[10] = static_cast<int32_t>(model_->hparams().n_vocab);
  o.n_ctx = 32;
  EXPECT_THROW(perplexity(*model_, bad, o), Error);
}

TEST(TokenNll, IsMinusLogSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(token_nll(logits, 2), std::log(z) - 3.0, 1e-12);
  EXPECT_NEAR(token_nll(logits, 0), std::log(z) - 1.0, 1e-12);
  // Large logits do not overflow.
  const std::vector<float> big = {1000.0f, 1000.0f};
  EXPECT_NEAR(token_nll(big, 1), std::log(2.0), 1e-12);
}

}  // namespace
}  // namespace trit::train
