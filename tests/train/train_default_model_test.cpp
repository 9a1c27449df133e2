// The committed default model (models/default/, trained by `trit train` as docs/default-model.md
// records): it loads as any model does, is small, and its perplexity on the held-out tail of
// tinyshakespeare stays below the figure measured when it was trained (a regression guard on the
// model file and on the inference path that runs it).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "support/test_data.h"
#include "train/perplexity.h"

namespace trit::train {
namespace {

// docs/default-model.md: measured with this test's method (windows of 256 tokens from an empty cache,
// every position scored, f16 KV cache as `trit run` uses) on the last 5% of the tokens.
constexpr double kRecordedPerplexity = 69.95;  // measured 69.945 (the trainer's own validation: 69.95)

std::filesystem::path default_model_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "models" / "default";
}

double held_out_perplexity(const model::Model& m, const std::vector<int32_t>& tokens, int64_t n_ctx) {
  const size_t n_val = tokens.size() / 20;  // the trainer's --val-fraction 0.05
  const std::vector<int32_t> val(tokens.end() - static_cast<std::ptrdiff_t>(n_val), tokens.end());
  model::Forward fwd(m, 2);
  model::KvCache cache(m.hparams(), n_ctx, model::KvType::kF16);
  double nll = 0.0;
  int64_t n = 0;
  for (size_t start = 0; start + n_ctx + 1 <= val.size(); start += static_cast<size_t>(n_ctx)) {
    cache.reset();
    const std::span<const int32_t> window(val.data() + start, static_cast<size_t>(n_ctx));
    const model::SequenceInput in{&cache, window, true};
    const auto logits = fwd.eval({&in, 1});
    const int64_t V = m.hparams().n_vocab;
    for (int64_t t = 0; t < n_ctx; ++t) {
      nll += token_nll(logits[0].subspan(static_cast<size_t>(t * V), static_cast<size_t>(V)), val[start + t + 1]);
      ++n;
    }
  }
  return std::exp(nll / static_cast<double>(n));
}

TEST(DefaultModel, LoadsAndIsSmall) {
  const auto path = default_model_dir() / "shakespeare-i2_s.gguf";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  EXPECT_LT(std::filesystem::file_size(path), 5u << 20);
  model::LoadOptions lo;
  lo.show_progress = false;
  const auto m = model::Model::load(path.string(), lo);
  EXPECT_EQ(m->hparams().arch, "bitnet-b1.58");
  EXPECT_EQ(m->hparams().n_vocab, m->tokenizer().n_tokens());
  EXPECT_TRUE(std::filesystem::exists(default_model_dir() / "tokenizer.json"));
}

TEST(DefaultModel, HeldOutShakespearePerplexityStaysBelowTheRecordedFigure) {
  TRIT_REQUIRE_SHARED_DATA();
  const auto text_path = testing::shared_data_dir() / "corpora" / "tinyshakespeare.txt";
  ASSERT_TRUE(std::filesystem::exists(text_path));
  std::ifstream in(text_path, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  model::LoadOptions lo;
  lo.show_progress = false;
  const auto m = model::Model::load((default_model_dir() / "shakespeare-i2_s.gguf").string(), lo);
  const std::vector<int32_t> tokens = m->tokenizer().encode(text, false, false);
  const double ppl = held_out_perplexity(*m, tokens, 256);
  std::printf("held-out perplexity of the default model: %.3f\n", ppl);
  EXPECT_LT(ppl, kRecordedPerplexity);
}

}  // namespace
}  // namespace trit::train
