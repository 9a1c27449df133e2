// Forward over several sequences at once: each sequence's logits are bit-identical to what it gets
// alone, for prompts, single-token decode steps and a mix of both, with f16 and f32 caches.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "model/dummy.h"
#include "model/forward.h"
#include "runtime/error.h"
#include "support/test_data.h"

namespace trit::model {
namespace {

std::string write_model(uint32_t type_id) {
  const auto dir = testing::make_temp_dir("trit-batch");
  DummyOptions o;
  o.path = (dir / "m.gguf").string();
  o.shape = {"test", "bitnet-b1.58", 256, 512, 2, 4, 2, 300, 128, 10000.0};
  o.type_id = type_id;
  o.seed = 11;
  o.show_progress = false;
  write_dummy_model(o);
  return o.path;
}

using Steps = std::vector<std::vector<int32_t>>;  // what one sequence is fed, call by call

// Runs each sequence's steps alone, then all sequences' step i together, and compares every logit.
void expect_batch_equals_alone(const Model& m, KvType kv, const std::vector<Steps>& seqs) {
  const int64_t n_vocab = m.hparams().n_vocab;
  Forward fwd(m, 2);
  std::vector<std::vector<std::vector<float>>> alone(seqs.size());
  for (size_t s = 0; s < seqs.size(); ++s) {
    KvCache cache(m.hparams(), 64, kv);
    for (const auto& step : seqs[s]) {
      const SequenceInput in{&cache, step, true};
      auto out = fwd.eval({&in, 1})[0];
      alone[s].emplace_back(out.begin(), out.end());
    }
  }
  std::vector<KvCache> caches;
  for (size_t s = 0; s < seqs.size(); ++s) caches.emplace_back(m.hparams(), 64, kv);
  for (size_t i = 0;; ++i) {
    std::vector<SequenceInput> batch;
    std::vector<size_t> which;
    for (size_t s = 0; s < seqs.size(); ++s)
      if (i < seqs[s].size()) {
        batch.push_back({&caches[s], seqs[s][i], true});
        which.push_back(s);
      }
    if (batch.empty()) break;
    auto outs = fwd.eval(batch);
    ASSERT_EQ(outs.size(), batch.size());
    for (size_t b = 0; b < batch.size(); ++b) {
      const auto& want = alone[which[b]][i];
      ASSERT_EQ(outs[b].size(), want.size());
      ASSERT_EQ(outs[b].size(), batch[b].tokens.size() * n_vocab);
      for (size_t r = 0; r < want.size(); ++r)
        ASSERT_EQ(outs[b][r], want[r]) << "sequence " << which[b] << " step " << i << " logit " << r;
    }
  }
}

const std::vector<Steps> kMixed = {
    {{1, 5, 9, 200, 3}, {17}, {18}, {19}},  // prompt, then decode
    {{1, 2}, {44}, {45, 46, 47}, {48}},     // a second chunk of prompt mid-way
    {{1}, {250}},                           // short
    {{1, 7, 7, 7, 7, 7, 7, 7, 7}, {3}, {4}, {5}},
};

TEST(BatchForward, SequencesBatchedEqualAloneWithF16Cache) {
  auto m = Model::load(write_model(36), {.show_progress = false});
  expect_batch_equals_alone(*m, KvType::kF16, kMixed);
}

TEST(BatchForward, SequencesBatchedEqualAloneWithF32Cache) {
  auto m = Model::load(write_model(36), {.show_progress = false});
  expect_batch_equals_alone(*m, KvType::kF32, kMixed);
}

TEST(BatchForward, SixteenDecodeStepsTogether) {
  auto m = Model::load(write_model(36), {.show_progress = false});
  std::vector<Steps> seqs;
  for (int32_t s = 0; s < 16; ++s) seqs.push_back({{1, 10 + s, 20 + s}, {30 + s}, {40 + s}, {50 + s}});
  expect_batch_equals_alone(*m, KvType::kF16, seqs);
}

TEST(BatchForward, Q8OutputProjectionBatchesToo) {
  auto m = Model::load(write_model(36), {.show_progress = false, .output_q8 = true});
  expect_batch_equals_alone(*m, KvType::kF16, kMixed);
}

TEST(BatchForward, FloatWeightsBatchToo) {
  auto m = Model::load(write_model(0), {.show_progress = false});  // F32 everywhere
  expect_batch_equals_alone(*m, KvType::kF32, kMixed);
}

TEST(BatchForward, Tq2_0WeightsBatchToo) {
  auto m = Model::load(write_model(35), {.show_progress = false});  // TQ2_0
  expect_batch_equals_alone(*m, KvType::kF16, kMixed);
}

// Backend::eval_top_k (the base version a CPU backend uses): each sequence's k highest logits of its
// last token, highest first, equal logits by the lower id, and the caches advanced as eval advances them.
TEST(BatchForward, TopKIsTheHighestLogitsOfTheLastToken) {
  const auto m = Model::load(write_model(36), {.show_progress = false});
  Forward fwd(*m, 2);
  KvCache a(m->hparams(), 64, KvType::kF16), b(m->hparams(), 64, KvType::kF16);
  const std::vector<int32_t> pa = {1, 2, 3, 4}, pb = {7, 8};
  std::vector<SequenceInput> batch = {{&a, pa}, {&b, pb}};
  const auto tops = fwd.eval_top_k(batch, 5);
  ASSERT_EQ(tops.size(), 2u);
  EXPECT_EQ(a.n_past(), 4);
  EXPECT_EQ(b.n_past(), 2);
  KvCache c(m->hparams(), 64, KvType::kF16);
  const SequenceInput alone{&c, pa};
  const auto row = fwd.eval({&alone, 1})[0];
  std::vector<int32_t> order(row.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return row[x] > row[y]; });
  ASSERT_EQ(tops[0].ids.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(tops[0].ids[i], order[i]);
    EXPECT_EQ(tops[0].logits[i], row[order[i]]);
  }
  EXPECT_EQ(fwd.device_top_k_limit(), 0);
  const SequenceInput all{&c, pb, true};
  EXPECT_THROW(fwd.eval_top_k({&all, 1}, 5), trit::Error);
  const SequenceInput one{&c, pb};
  EXPECT_THROW(fwd.eval_top_k({&one, 1}, 0), trit::Error);
}

TEST(BatchForward, AFullCacheFailsBeforeAnyCacheChanges) {
  auto m = Model::load(write_model(36), {.show_progress = false});
  Forward fwd(*m, 1);
  KvCache roomy(m->hparams(), 64, KvType::kF16), tight(m->hparams(), 2, KvType::kF16);
  const std::vector<int32_t> three = {1, 2, 3};
  const std::vector<SequenceInput> batch = {{&roomy, three}, {&tight, three}};
  EXPECT_THROW(fwd.eval(batch), trit::Error);
  EXPECT_EQ(roomy.n_past(), 0);
  EXPECT_EQ(tight.n_past(), 0);
  const std::vector<int32_t> bad = {1, 100000};
  const std::vector<SequenceInput> bad_batch = {{&roomy, three}, {&tight, bad}};
  EXPECT_THROW(fwd.eval(bad_batch), trit::Error);
  EXPECT_EQ(roomy.n_past(), 0);
}

}  // namespace
}  // namespace trit::model
