// Samplers and stop strings.
#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "runtime/error.h"
#include "sampling/stop.h"

namespace trit::sampling {
namespace {

TEST(Sampler, GreedyPicksArgmax) {
  Sampler s({.temperature = 0.0f});
  std::vector<float> l = {0.1f, 2.0f, 1.9f};
  EXPECT_EQ(s.sample(l, {}), 1);
}

TEST(Sampler, TopKOneIsGreedy) {
  Sampler s({.temperature = 1.5f, .top_k = 1, .seed = 3});
  for (int i = 0; i < 20; ++i) {
    std::vector<float> l = {0.1f, 0.2f, 0.3f, 0.25f};
    EXPECT_EQ(s.sample(l, {}), 2);
  }
}

TEST(Sampler, SameSeedSameTokens) {
  auto draw = [](uint64_t seed) {
    Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = seed});
    std::vector<int32_t> out;
    for (int i = 0; i < 50; ++i) {
      std::vector<float> l = {0.0f, 0.5f, 1.0f, 0.2f, 0.7f};
      out.push_back(s.sample(l, {}));
    }
    return out;
  };
  EXPECT_EQ(draw(11), draw(11));
  EXPECT_NE(draw(11), draw(12));
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 5});
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> l = {0.0f, std::log(3.0f)};  // p = 0.25, 0.75
    ++counts[s.sample(l, {})];
  }
  EXPECT_NEAR(counts[1] / double(n), 0.75, 0.02);
}

TEST(Sampler, TopPAndMinPCutTheTail) {
  // probabilities 0.5, 0.3, 0.2 (temperature 1): top-p 0.6 keeps two, min-p 0.5 keeps the first two (0.2 < 0.25).
  const std::vector<float> base = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  Sampler top_p({.temperature = 1.0f, .top_k = 0, .top_p = 0.6f, .min_p = 0.0f, .seed = 1});
  Sampler min_p({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.5f, .seed = 1});
  for (int i = 0; i < 500; ++i) {
    auto a = base, b = base;
    EXPECT_NE(top_p.sample(a, {}), 2);
    EXPECT_NE(min_p.sample(b, {}), 2);
  }
}

TEST(Sampler, PenaltiesHandComputed) {
  Sampler s({.temperature = 0.0f,
             .repeat_penalty = 2.0f,
             .repeat_last_n = 2,
             .presence_penalty = 0.5f,
             .frequency_penalty = 0.25f});
  std::vector<float> l = {4.0f, -1.0f, 3.0f, 1.0f};
  const std::vector<int32_t> history = {2, 0, 1, 1};  // window: {1, 1}
  s.sample(l, history);
  EXPECT_FLOAT_EQ(l[0], 4.0f);                        // outside the window
  EXPECT_FLOAT_EQ(l[1], -1.0f * 2.0f - 0.5f - 0.5f);  // twice: repeat, presence, 2 * frequency
  EXPECT_FLOAT_EQ(l[2], 3.0f);
}

// sample_top from a row's top logits picks what sample picks from the whole row, draw for draw, for
// every parameter set that needs only the top (and says how many it needs).
TEST(Sampler, SamplingFromTheTopLogitsMatchesTheWholeRow) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  const std::vector<SamplerParams> cases = {
      {.temperature = 0.0f},
      {.temperature = 0.8f, .top_k = 40, .seed = 1},
      {.temperature = 1.3f, .top_k = 5, .top_p = 0.5f, .min_p = 0.0f, .seed = 2},
      {.temperature = 0.5f, .top_k = 100, .top_p = 1.0f, .min_p = 0.2f, .seed = 3},
  };
  for (const SamplerParams& params : cases) {
    Sampler whole(params), top(params);
    const int32_t need = top.top_needed();
    ASSERT_EQ(need, params.temperature <= 0.0f ? 1 : params.top_k);
    for (int step = 0; step < 200; ++step) {
      std::vector<float> row(1000);
      for (float& v : row) v = std::round(normal(rng) * 8.0f) / 8.0f;  // ties among the top
      std::vector<int32_t> ids(row.size());
      for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
      std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
      ids.resize(static_cast<size_t>(need) + 3);  // more than needed is fine
      std::vector<float> top_logits;
      for (int32_t id : ids) top_logits.push_back(row[id]);
      const int32_t want = whole.sample(row, {});
      EXPECT_EQ(top.sample_top(top_logits, ids), want) << "top_k " << params.top_k << " step " << step;
    }
  }
}

TEST(Sampler, PenaltiesOrNoTopKNeedTheWholeRow) {
  EXPECT_EQ(Sampler({.temperature = 0.8f, .top_k = 0}).top_needed(), 0);
  EXPECT_EQ(Sampler({.temperature = 0.8f, .top_k = 40, .repeat_penalty = 1.1f}).top_needed(), 0);
  EXPECT_EQ(Sampler({.temperature = 0.0f, .presence_penalty = 0.5f}).top_needed(), 0);
  EXPECT_EQ(Sampler({.temperature = 0.0f, .top_k = 0}).top_needed(), 1);
}

TEST(Sampler, InvalidParametersAreErrors) {
  EXPECT_THROW(Sampler({.top_p = 0.0f}), Error);
  EXPECT_THROW(Sampler({.min_p = 2.0f}), Error);
  EXPECT_THROW(Sampler({.repeat_penalty = 0.0f}), Error);
}

TEST(StopStrings, HoldsBackAPossibleStartAndCutsBeforeTheStop) {
  StopStrings s({"###", "User:"});
  EXPECT_EQ(s.push("Hello #"), "Hello ");
  EXPECT_EQ(s.push("# no"), "## no");  // "## n" can no longer become "###"
  EXPECT_FALSE(s.stopped());
  EXPECT_EQ(s.push("ne Us"), "ne ");
  EXPECT_EQ(s.push("er: x"), "");
  EXPECT_TRUE(s.stopped());
}

TEST(StopStrings, ReleasesTextThatCannotStartAStop) {
  StopStrings s({"END"});
  EXPECT_EQ(s.push("abc"), "abc");
  EXPECT_EQ(s.push("xE"), "x");
  EXPECT_EQ(s.push("Nd"), "ENd");
  EXPECT_EQ(s.push("EN"), "");
  EXPECT_EQ(s.flush(), "EN");
}

}  // namespace
}  // namespace trit::sampling
