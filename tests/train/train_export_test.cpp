// The exported GGUF is the model the trainer trained: trit's loader reads it, its ternary weights and
// scales are exactly the trainer's, and trit's inference forward pass gives the trainer's logits.
#include "train/train_export.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "gguf/reader.h"
#include "model/dummy.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "support/test_data.h"
#include "tensor/codec.h"
#include "tensor/ternary.h"
#include "train/train_model.h"

namespace trit::train {
namespace {

ModelConfig small_config(int64_t n_vocab) {
  ModelConfig c;
  c.n_vocab = n_vocab;
  c.n_embd = 128;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.n_ff = 256;
  c.n_ctx = 32;
  return c;
}

// Initial weights plus noise everywhere, so the norms are not all ones and the activations vary.
std::vector<float> noisy_params(const ParamLayout& layout) {
  std::vector<float> p = init_params(layout, 7);
  std::mt19937_64 rng(11);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  for (const ParamInfo& t : layout.tensors)
    for (size_t i = 0; i < t.size(); ++i)
      p[t.offset + i] += t.kind == ParamKind::kNorm ? normal(rng) : 0.5f * normal(rng);
  return p;
}

class TrainExport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("trit-train-export");
    vocab_ = model::synthetic_vocab(300);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  tokenizer::Vocab vocab_;
};

TEST_F(TrainExport, StoresTheTrainersTernaryWeightsExactly) {
  const ParamLayout layout(small_config(vocab_.n_tokens()));
  const std::vector<float> params = noisy_params(layout);
  const std::string path = (dir_ / "m.gguf").string();
  export_gguf({path, 36, "test"}, layout, params, vocab_);
  const gguf::Reader r = gguf::Reader::open(path);
  EXPECT_EQ(r.get_string("general.architecture"), "bitnet-b1.58");
  for (const ParamInfo& t : layout.tensors) {
    const gguf::TensorInfo* info = r.find_tensor(t.name);
    ASSERT_NE(info, nullptr) << t.name;
    if (t.kind != ParamKind::kLinear) continue;
    const tensor::TernaryMatrix want = tensor::ternarize_absmean({params.data() + t.offset, t.size()}, t.rows, t.cols);
    const tensor::TernaryMatrix got = tensor::unpack_ternary(*info);
    EXPECT_EQ(got.values, want.values) << t.name;
    EXPECT_EQ(got.scales[0], want.scales[0]) << t.name;
  }
}

void expect_inference_matches_trainer(const ModelConfig& config, uint32_t type_id, const tokenizer::Vocab& vocab,
                                      const std::string& path) {
  const ParamLayout layout(config);
  const std::vector<float> params = noisy_params(layout);
  export_gguf({path, type_id, "test"}, layout, params, vocab);

  std::vector<int32_t> tokens;
  std::mt19937 rng(3);
  for (int i = 0; i < 24; ++i) tokens.push_back(static_cast<int32_t>(rng() % 300));
  runtime::ThreadPool pool(2);
  Transformer<float> trainer(layout, pool, /*quantize=*/true, /*f16_scales=*/type_id != 36);
  std::vector<float> want;
  trainer.forward(params, tokens, {}, 1, static_cast<int64_t>(tokens.size()), &want);

  model::LoadOptions lo;
  lo.show_progress = false;
  const auto m = model::Model::load(path, lo);
  model::KvCache cache(m->hparams(), 32, model::KvType::kF32);
  model::Forward fwd(*m, 2);
  const model::SequenceInput in{&cache, tokens, true};
  const auto got = fwd.eval({&in, 1});
  ASSERT_EQ(got[0].size(), want.size());
  // Tolerance: both sides quantise the same activations with the same rounding and take exact integer
  // products, but their float sums (attention dot products, the F16 output layer) run in different
  // orders; a one-ulp difference can move one int8 activation by one step, which shifts a logit by
  // about w_scale / x_scale. Measured here: largest difference 3e-4 on logits up to 4.6 (7e-5 relative), mean
  // 4e-6. The bounds (2e-3 of the largest logit, mean 1e-5) leave room for other compilers and ISA levels
  // and are far below what a wrong layout, scale, rounding or block order causes (O(1) differences).
  double max_abs = 0.0, max_diff = 0.0, sum_diff = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_abs = std::max(max_abs, static_cast<double>(std::fabs(want[i])));
    const double diff = std::fabs(static_cast<double>(want[i]) - got[0][i]);
    max_diff = std::max(max_diff, diff);
    sum_diff += diff;
  }
  EXPECT_LT(max_diff, 2e-3 * max_abs) << "largest logit " << max_abs;
  EXPECT_LT(sum_diff / static_cast<double>(want.size()), 1e-5 * max_abs);
  // The same next-token choice at every position.
  const int64_t V = layout.config.n_vocab;
  for (size_t t = 0; t < tokens.size(); ++t) {
    auto argmax = [&](const float* row) { return std::max_element(row, row + V) - row; };
    EXPECT_EQ(argmax(want.data() + t * V), argmax(got[0].data() + t * V)) << "position " << t;
  }
}

TEST_F(TrainExport, InferenceLogitsEqualTheTrainersForwardPass) {
  expect_inference_matches_trainer(small_config(vocab_.n_tokens()), 36, vocab_, (dir_ / "m.gguf").string());
}

TEST_F(TrainExport, TqTypesGiveTheSameLogits) {
  ModelConfig c = small_config(vocab_.n_tokens());
  c.n_embd = 256;  // TQ blocks hold 256 weights of a row
  c.n_layer = 1;
  for (uint32_t type : {35u, 34u}) expect_inference_matches_trainer(c, type, vocab_, (dir_ / "tq.gguf").string());
}

}  // namespace
}  // namespace trit::train
