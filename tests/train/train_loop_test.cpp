// The training loop on toy models: the loss falls, a tiny model overfits a tiny text, runs are
// deterministic for a seed whatever the thread count, and a resumed run continues exactly; plus the
// schedule, clipping, AdamW and the checkpoint file.
#include "train/train_loop.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>

#include "model/dummy.h"
#include "runtime/error.h"
#include "support/test_data.h"
#include "train/train_checkpoint.h"
#include "train/train_optimizer.h"

namespace trit::train {
namespace {

// Byte-level tokens of a short text (vocabulary: the 256 bytes, plus spares to fill a synthetic vocabulary).
std::vector<int32_t> byte_tokens(const std::string& text, int repeats) {
  std::vector<int32_t> t;
  for (int r = 0; r < repeats; ++r)
    for (unsigned char ch : text) t.push_back(ch);
  return t;
}

TrainOptions toy_options() {
  TrainOptions o;
  o.config.n_vocab = 300;
  o.config.n_embd = 128;
  o.config.n_layer = 1;
  o.config.n_head = 2;
  o.config.n_head_kv = 1;
  o.config.n_ff = 128;
  o.config.n_ctx = 16;
  o.batch = 4;
  o.steps = 40;
  o.lr = 3e-3;
  o.warmup = 5;
  o.seed = 1;
  o.n_threads = 1;
  o.val_fraction = 0.1;
  o.eval_every = 0;
  o.log_every = 0;
  return o;
}

const std::string kText = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer. ";

double mean(const std::vector<double>& v, size_t begin, size_t end) {
  return std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(begin), v.begin() + static_cast<std::ptrdiff_t>(end),
                         0.0) /
         static_cast<double>(end - begin);
}

class TrainLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("trit-train-loop");
    vocab_ = model::synthetic_vocab(300);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static void quiet(const std::string&) {}
  std::filesystem::path dir_;
  tokenizer::Vocab vocab_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST_F(TrainLoop, AFewStepsLowerTheLoss) {
  TrainOptions o = toy_options();
  o.steps = 30;
  const TrainResult r = train(o, byte_tokens(kText, 20), vocab_, quiet);
  ASSERT_EQ(r.losses.size(), 30u);
  EXPECT_NEAR(r.losses[0], std::log(300.0), 0.5);  // a fresh model is close to uniform
  EXPECT_LT(mean(r.losses, 25, 30), mean(r.losses, 0, 5) - 1.0);
  EXPECT_TRUE(std::isfinite(r.val_loss));
}

TEST_F(TrainLoop, TinyModelOverfitsATinyText) {
  TrainOptions o = toy_options();
  o.steps = 400;
  o.lr = 3e-3;
  o.val_fraction = 0.0;
  const TrainResult r = train(o, byte_tokens(kText, 8), vocab_, quiet);
  // The text repeats, so every next byte is determined by the last few: the loss must approach 0.
  EXPECT_LT(mean(r.losses, 390, 400), 0.3) << "first " << r.losses.front();
}

TEST_F(TrainLoop, ResultsDoNotDependOnTheThreadCount) {
  TrainOptions o = toy_options();
  o.steps = 4;
  o.output = path("t1.gguf");
  o.n_threads = 1;
  const TrainResult a = train(o, byte_tokens(kText, 20), vocab_, quiet);
  o.output = path("t2.gguf");
  o.n_threads = 2;
  const TrainResult b = train(o, byte_tokens(kText, 20), vocab_, quiet);
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_EQ(read_bytes(path("t1.gguf")), read_bytes(path("t2.gguf")));
}

TEST_F(TrainLoop, AResumedRunEndsExactlyWhereAnUnbrokenOneDoes) {
  const std::vector<int32_t> tokens = byte_tokens(kText, 20);
  TrainOptions o = toy_options();
  o.steps = 12;
  o.output = path("straight.gguf");
  const TrainResult straight = train(o, tokens, vocab_, quiet);

  // The same 12-step schedule stopped before step 5 (checkpoint written), then resumed to the end.
  o.output = path("resumed.gguf");
  o.checkpoint = path("run.ckpt");
  o.stop_at = 5;
  const TrainResult first = train(o, tokens, vocab_, quiet);
  EXPECT_EQ(load_checkpoint(o.checkpoint).step, 5);
  o.stop_at = 0;
  o.resume = true;
  const TrainResult second = train(o, tokens, vocab_, quiet);
  std::vector<double> joined = first.losses;
  joined.insert(joined.end(), second.losses.begin(), second.losses.end());
  EXPECT_EQ(joined, straight.losses);
  EXPECT_EQ(second.val_loss, straight.val_loss);
  EXPECT_EQ(read_bytes(path("straight.gguf")), read_bytes(path("resumed.gguf")));
  const Checkpoint ck = load_checkpoint(o.checkpoint);
  EXPECT_EQ(ck.step, 12);
  EXPECT_EQ(ck.adam_steps, 12);

  // Resuming a finished run trains no more steps and changes nothing.
  const TrainResult again = train(o, tokens, vocab_, quiet);
  EXPECT_TRUE(again.losses.empty());
  EXPECT_EQ(read_bytes(path("straight.gguf")), read_bytes(path("resumed.gguf")));
}

TEST_F(TrainLoop, MaxMinutesStopsCleanlyAndStillExports) {
  TrainOptions o = toy_options();
  o.steps = 1000;
  o.max_minutes = 1e-9;  // already spent before the first step
  o.output = path("early.gguf");
  const TrainResult r = train(o, byte_tokens(kText, 20), vocab_, quiet);
  EXPECT_EQ(r.steps_done, 0);
  EXPECT_TRUE(std::filesystem::exists(path("early.gguf")));
}

TEST_F(TrainLoop, ResumeRefusesOtherDataOrShapes) {
  const std::vector<int32_t> tokens = byte_tokens(kText, 20);
  TrainOptions o = toy_options();
  o.steps = 2;
  o.checkpoint = path("c.ckpt");
  train(o, tokens, vocab_, quiet);
  o.resume = true;
  TrainOptions other = o;
  other.config.n_ff = 256;
  EXPECT_THROW(train(other, tokens, vocab_, quiet), Error);
  EXPECT_THROW(train(o, byte_tokens("Something else entirely. ", 40), vocab_, quiet), Error);
  other = o;
  other.seed = 2;
  EXPECT_THROW(train(other, tokens, vocab_, quiet), Error);
}

TEST_F(TrainLoop, CheckpointRoundTripsAndRejectsOtherFiles) {
  Checkpoint c;
  c.config = toy_options().config;
  const ParamLayout layout(c.config);
  c.params = init_params(layout, 5);
  c.m.assign(layout.n_params, 0.25f);
  c.v.assign(layout.n_params, 0.5f);
  c.step = 7;
  c.adam_steps = 7;
  c.seed = 9;
  c.data_hash = 123;
  save_checkpoint(path("x.ckpt"), c);
  const Checkpoint d = load_checkpoint(path("x.ckpt"));
  EXPECT_EQ(d.params, c.params);
  EXPECT_EQ(d.m, c.m);
  EXPECT_EQ(d.v, c.v);
  EXPECT_EQ(d.step, 7);
  EXPECT_EQ(d.seed, 9u);
  EXPECT_EQ(d.data_hash, 123u);
  EXPECT_EQ(d.config.n_ff, c.config.n_ff);
  std::string bytes = read_bytes(path("x.ckpt"));
  std::ofstream(path("short.ckpt"), std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  EXPECT_THROW(load_checkpoint(path("short.ckpt")), Error);
  std::ofstream(path("junk.ckpt"), std::ios::binary) << "not a checkpoint at all";
  EXPECT_THROW(load_checkpoint(path("junk.ckpt")), Error);
  EXPECT_THROW(load_checkpoint(path("missing.ckpt")), Error);
}

TEST(TrainSchedule, WarmsUpLinearlyThenDecaysByCosineToTheFloor) {
  EXPECT_DOUBLE_EQ(learning_rate(0, 100, 10, 1.0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(9, 100, 10, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(10, 100, 10, 1.0), 1.0);
  EXPECT_NEAR(learning_rate(55, 100, 10, 1.0), 0.55, 1e-12);  // half way: (1 + 0.1) / 2
  EXPECT_NEAR(learning_rate(100, 100, 10, 1.0), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(500, 100, 10, 1.0), 0.1, 1e-12);
}

TEST(TrainSchedule, ClippingScalesToTheMaximumNorm) {
  std::vector<float> g = {3.0f, 4.0f};
  EXPECT_DOUBLE_EQ(clip_grad_norm(g, 1.0), 5.0);
  EXPECT_NEAR(std::hypot(g[0], g[1]), 1.0, 1e-5);
  std::vector<float> small = {0.3f, 0.4f};
  clip_grad_norm(small, 1.0);
  EXPECT_EQ(small[0], 0.3f);
}

TEST(TrainOptimizer, AdamWDecaysOnlyLinearWeights) {
  ModelConfig c = toy_options().config;
  const ParamLayout layout(c);
  std::vector<float> params(layout.n_params, 1.0f), grads(layout.n_params, 0.0f);
  AdamW opt(layout, {0.9f, 0.95f, 1e-8f, 0.5f});
  runtime::ThreadPool pool(1);
  opt.step(params, grads, 0.1, pool);  // zero gradients: only the decay moves weights
  EXPECT_FLOAT_EQ(params[layout[layout.layers[0].wq].offset], 1.0f - 0.1f * 0.5f);
  EXPECT_EQ(params[layout[layout.layers[0].attn_norm].offset], 1.0f);
  EXPECT_EQ(params[layout[layout.token_embd].offset], 1.0f);
  // The first step with a gradient moves each weight by about lr (Adam's normalised step).
  std::fill(params.begin(), params.end(), 1.0f);
  std::fill(grads.begin(), grads.end(), 0.01f);
  AdamW fresh(layout, {0.9f, 0.95f, 1e-8f, 0.0f});
  fresh.step(params, grads, 0.1, pool);
  EXPECT_NEAR(params[layout[layout.output_norm].offset], 0.9f, 1e-5);
}

}  // namespace
}  // namespace trit::train
