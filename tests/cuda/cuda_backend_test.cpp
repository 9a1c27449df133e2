// The CUDA backend against the CPU engine on generated models: every position's logits of a prompt and
// of single-token decode steps (batch of sequences, graphs on and off, f16 and f32 caches), greedy
// tokens identical to the CPU's, and the embedding models' vectors. Skips where no GPU is visible.
#include "cuda/cuda_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <ostream>
#include <vector>

#include "cuda/require_gpu.h"
#include "cuda/shared_cases.h"
#include "model/dummy.h"
#include "model/embedding.h"
#include "model/forward.h"
#include "runtime/error.h"
#include "sampling/sampler.h"
#include "support/test_data.h"

namespace trit::cuda {
namespace {

// A vocabulary that is not a multiple of the tiles, GQA.
std::unique_ptr<model::Model> dummy(const std::string& arch, uint32_t type_id, uint64_t seed, int64_t window = 0) {
  model::DummyShape shape{"test", arch, 256, 768, 3, 8, 2, 1000, 512, 10000.0};
  shape.sliding_window = window;
  return load_dummy(shape, seed, type_id);
}

std::vector<int32_t> prompt_tokens(int n, int vocab) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 7919 + 13) % vocab));
  return t;
}

struct Case {
  const char* arch;
  uint32_t type_id;  // 36 i2_s, 35 tq2_0, 1 f16 (float linear layers on the half-precision path)
  model::KvType kv;
  int64_t window = 0;       // sliding window (gemma3: every layer of 3 is a window layer)
  bool persistent = false;  // decode steps as the persistent kernel (CudaOptions::persistent_decode)
};

// Names the case in test output ("gemma3 type 36 f32 cache window 8"), not its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.arch << " type " << c.type_id << (c.kv == model::KvType::kF16 ? " f16" : " f32") << " cache";
  if (c.window) *os << " window " << c.window;
  if (c.persistent) *os << " persistent decode";
}

class CudaVsCpu : public ::testing::TestWithParam<Case> {};

TEST_P(CudaVsCpu, PromptLogitsAndGreedyDecodeMatchTheCpu) {
  TRIT_REQUIRE_GPU();
  const Case c = GetParam();
  auto m = dummy(c.arch, c.type_id, 21, c.window);
  const int64_t n_vocab = m->hparams().n_vocab;
  model::Forward cpu(*m, 2);
  CudaBackend gpu(*m, {.persistent_decode = c.persistent, .show_progress = false});
  const auto prompt = prompt_tokens(37, static_cast<int>(n_vocab));

  // How far the CPU's own logits move between an f16 and an f32 cache on this model: the scale of the
  // rounding these random-weight models amplify. Where the GPU rounds values to f16 (an f16 cache, F16
  // weights' inputs) that differ from the CPU's in the last float bit, now and then one lands on the
  // other side of an f16 step; it must stay inside that scale. Otherwise only float summation order
  // differs: a twentieth of it.
  std::vector<float> by_kv[2];
  for (model::KvType kv : {model::KvType::kF16, model::KvType::kF32}) {
    model::KvCache cache(m->hparams(), 128, kv);
    const model::SequenceInput in{&cache, prompt, true};
    const auto out = cpu.eval({&in, 1})[0];
    by_kv[kv == model::KvType::kF32].assign(out.begin(), out.end());
  }
  const double f16_effect = rel_l2(by_kv[0], by_kv[1]);
  // F16 linear layers round their inputs to f16 too (as ggml): the same amplification as an f16 cache.
  const bool rounds_to_f16 = c.kv == model::KvType::kF16 || c.type_id == 1;
  const double bound = rounds_to_f16 ? f16_effect : f16_effect / 20;
  std::printf("f16 cache effect on the CPU %.3e; bound for the GPU %.3e\n", f16_effect, bound);

  model::KvCache cpu_cache(m->hparams(), 128, c.kv), gpu_cache(m->hparams(), 128, c.kv);

  // The prompt as one batch (the tensor-core path), every position's logits.
  const model::SequenceInput cin{&cpu_cache, prompt, true}, gin{&gpu_cache, prompt, true};
  const auto cpu_out = cpu.eval({&cin, 1})[0];
  const std::vector<float> want(cpu_out.begin(), cpu_out.end());
  const auto got = gpu.eval({&gin, 1})[0];
  ASSERT_EQ(got.size(), want.size());
  const double prompt_err = rel_l2(got, want);
  EXPECT_LT(prompt_err, bound);
  for (size_t t = 0; t < prompt.size(); ++t)
    EXPECT_EQ(sampling::argmax(got.subspan(t * n_vocab, n_vocab)),
              sampling::argmax(std::span(want).subspan(t * n_vocab, n_vocab)))
        << "position " << t;

  // Greedy decoding, one token at a time (graphs): the same tokens as the CPU.
  int32_t cpu_next = sampling::argmax(std::span(want).subspan((prompt.size() - 1) * n_vocab, n_vocab));
  int32_t gpu_next = cpu_next;
  std::vector<int32_t> cpu_tokens, gpu_tokens;
  double worst = 0;
  for (int i = 0; i < 24; ++i) {
    const model::SequenceInput cs{&cpu_cache, {&cpu_next, 1}}, gs{&gpu_cache, {&gpu_next, 1}};
    const auto cl = cpu.eval({&cs, 1})[0];
    const auto gl = gpu.eval({&gs, 1})[0];
    worst = std::max(worst, rel_l2(gl, cl));
    EXPECT_LT(rel_l2(gl, cl), bound) << "step " << i;
    cpu_next = sampling::argmax(cl);
    gpu_next = sampling::argmax(gl);
    cpu_tokens.push_back(cpu_next);
    gpu_tokens.push_back(gpu_next);
  }
  EXPECT_EQ(gpu_tokens, cpu_tokens);
  std::printf("GPU vs CPU: prompt %.3e, decode steps at most %.3e\n", prompt_err, worst);
  if (c.persistent) {
    EXPECT_EQ(gpu.persistent_steps(), 24) << "every decode step in the persistent kernel";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, CudaVsCpu,
    ::testing::Values(Case{"bitnet-b1.58", 36, model::KvType::kF16}, Case{"bitnet-b1.58", 36, model::KvType::kF32},
                      Case{"bitnet", 35, model::KvType::kF16}, Case{"llama", 36, model::KvType::kF16},
                      Case{"bitnet-b1.58", 1, model::KvType::kF32},
                      // The embedding models' blocks (per-projection norms; Q/K norms; Gemma's post-norms,
                      // scaled embeddings, GELU and sliding windows of 8 over the 37-token prompt).
                      Case{"qwen3", 36, model::KvType::kF16}, Case{"gemma3", 36, model::KvType::kF16},
                      Case{"gemma3", 36, model::KvType::kF32, 8},
                      // Decode steps as the persistent kernel: ReLU² with sub-norms on both caches, SiLU
                      // without sub-norms (llama), TQ2_0 repacked.
                      Case{"bitnet-b1.58", 36, model::KvType::kF16, 0, true},
                      Case{"bitnet-b1.58", 36, model::KvType::kF32, 0, true},
                      Case{"llama", 36, model::KvType::kF16, 0, true},
                      Case{"bitnet", 35, model::KvType::kF16, 0, true}));

// Several sequences in one step give each exactly what it gets alone, with and without graphs.
TEST(CudaBackend, BatchedSequencesMatchAloneBitForBit) {
  TRIT_REQUIRE_GPU();
  auto m = dummy("bitnet-b1.58", 36, 5);
  const int64_t n_vocab = m->hparams().n_vocab;
  CudaBackend graphs(*m, {.show_progress = false});
  CudaBackend direct(*m, {.graphs = false, .show_progress = false});
  const std::vector<std::vector<int32_t>> prompts = {prompt_tokens(5, 1000), prompt_tokens(12, 1000),
                                                     prompt_tokens(1, 1000)};
  // Alone, direct launches.
  std::vector<std::vector<float>> alone;
  for (const auto& p : prompts) {
    model::KvCache cache(m->hparams(), 64, model::KvType::kF16);
    const model::SequenceInput in{&cache, p};
    direct.eval({&in, 1});
    std::vector<float> steps;
    for (int32_t tok : {3, 99, 500}) {
      const model::SequenceInput d{&cache, {&tok, 1}};
      const auto l = direct.eval({&d, 1})[0];
      steps.insert(steps.end(), l.begin(), l.end());
    }
    alone.push_back(steps);
  }
  // Together: prompts in one batch, then decode steps of all three (graph replays).
  std::vector<model::KvCache> caches;
  for (size_t i = 0; i < prompts.size(); ++i) caches.emplace_back(m->hparams(), 64, model::KvType::kF16);
  std::vector<model::SequenceInput> batch;
  for (size_t i = 0; i < prompts.size(); ++i) batch.push_back({&caches[i], prompts[i]});
  graphs.eval(batch);
  std::vector<std::vector<float>> together(prompts.size());
  for (int32_t tok : {3, 99, 500}) {
    std::vector<model::SequenceInput> step;
    for (auto& cache : caches) step.push_back({&cache, {&tok, 1}});
    const auto out = graphs.eval(step);
    for (size_t i = 0; i < out.size(); ++i) together[i].insert(together[i].end(), out[i].begin(), out[i].end());
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_EQ(together[i].size(), 3 * static_cast<size_t>(n_vocab));
    EXPECT_EQ(together[i], alone[i]) << "sequence " << i;
  }
}

TEST(CudaBackend, GreedyOnTheGpuIsTheArgmaxOfTheLogits) {
  TRIT_REQUIRE_GPU();
  auto m = dummy("bitnet-b1.58", 36, 8);
  CudaBackend gpu(*m, {.show_progress = false});
  model::KvCache a(m->hparams(), 64, model::KvType::kF16), b(m->hparams(), 64, model::KvType::kF16);
  const auto p = prompt_tokens(9, 1000);
  const model::SequenceInput ia{&a, p}, ib{&b, p};
  int32_t next = sampling::argmax(gpu.eval({&ia, 1})[0]);
  EXPECT_EQ(gpu.eval_greedy({&ib, 1}), std::vector<int32_t>{next});
  for (int i = 0; i < 8; ++i) {
    const model::SequenceInput sa{&a, {&next, 1}}, sb{&b, {&next, 1}};
    const int32_t from_logits = sampling::argmax(gpu.eval({&sa, 1})[0]);
    EXPECT_EQ(gpu.eval_greedy({&sb, 1}), std::vector<int32_t>{from_logits}) << i;
    next = from_logits;
  }
}

// Long prompts' attention in flash tiles (an f16 cache) against the CPU: a 300-token prompt (many tiles
// of rows and of keys, a short last tile) batched with a lone new token and a short prompt (both through
// the one-row kernel's row list) and a 45-token prompt; and the flash and row kernels against each other.
// Over hundreds of positions an int8 rounding step that a last-bit difference flips carries to every
// later position through the cache, so each sequence's bound is its own f16 scale (how far the CPU moves
// between an f16 and an f32 cache), as in the other f16 cases, and the argmax may differ at a few
// near-ties.
TEST(CudaBackend, LongPromptsInFlashTilesMatchTheCpu) {
  TRIT_REQUIRE_GPU();
  auto m = dummy("bitnet-b1.58", 36, 12);
  const int64_t n_vocab = m->hparams().n_vocab;
  model::Forward cpu(*m, 2);
  CudaBackend flash(*m, {.flash_min_tokens = 40, .show_progress = false});
  CudaBackend rows(*m, {.flash_min_tokens = 0, .show_progress = false});
  const std::vector<std::vector<int32_t>> prompts = {
      prompt_tokens(300, 1000), {42}, prompt_tokens(12, 1000), prompt_tokens(45, 1000)};
  auto run = [&](CudaBackend& gpu) {
    std::vector<model::KvCache> caches;
    for (size_t i = 0; i < prompts.size(); ++i) caches.emplace_back(m->hparams(), 512, model::KvType::kF16);
    std::vector<model::SequenceInput> batch;
    for (size_t i = 0; i < prompts.size(); ++i) batch.push_back({&caches[i], prompts[i], true});
    std::vector<std::vector<float>> out;
    for (const auto& o : gpu.eval(batch)) out.emplace_back(o.begin(), o.end());
    return out;
  };
  const auto got = run(flash), by_rows = run(rows);
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<float> by_kv[2];
    for (model::KvType kv : {model::KvType::kF32, model::KvType::kF16}) {
      model::KvCache cache(m->hparams(), 512, kv);
      const model::SequenceInput in{&cache, prompts[i], true};
      const auto out = cpu.eval({&in, 1})[0];
      by_kv[kv == model::KvType::kF16].assign(out.begin(), out.end());
    }
    const std::vector<float>& want = by_kv[1];
    const double bound = std::max(rel_l2(by_kv[1], by_kv[0]), 1e-6);  // never below float rounding
    ASSERT_EQ(got[i].size(), want.size());
    const double err = rel_l2(got[i], want), vs_rows = rel_l2(got[i], by_rows[i]);
    size_t same = 0;
    for (size_t t = 0; t < prompts[i].size(); ++t)
      same += sampling::argmax(std::span(got[i]).subspan(t * n_vocab, n_vocab)) ==
              sampling::argmax(std::span(want).subspan(t * n_vocab, n_vocab));
    const double agree = static_cast<double>(same) / static_cast<double>(prompts[i].size());
    std::printf("sequence %zu (%zu tokens): flash vs CPU %.3e, vs the row kernel %.3e (bound %.3e), argmax %.3f\n", i,
                prompts[i].size(), err, vs_rows, bound, agree);
    EXPECT_LT(err, bound) << "sequence " << i;
    EXPECT_LT(vs_rows, bound) << "sequence " << i;
    EXPECT_GE(agree, 0.95) << "sequence " << i;
  }
}

// Top-k picked on the GPU is the host's ranking of the same step's logits, for a batch (graph replays)
// and a prompt; sampling from it picks what sampling from the whole row picks.
TEST(CudaBackend, TopKOnTheGpuIsTheTopOfTheLogits) {
  TRIT_REQUIRE_GPU();
  auto m = dummy("bitnet-b1.58", 36, 10);
  CudaBackend gpu(*m, {.show_progress = false});
  const int k = 40;
  std::vector<model::KvCache> full, top;
  for (int i = 0; i < 2; ++i) {
    full.emplace_back(m->hparams(), 64, model::KvType::kF16);
    top.emplace_back(m->hparams(), 64, model::KvType::kF16);
  }
  const auto p0 = prompt_tokens(7, 1000), p1 = prompt_tokens(3, 1000);
  sampling::Sampler from_rows({.temperature = 0.9f, .top_k = k, .seed = 4}),
      from_top({.temperature = 0.9f, .top_k = k, .seed = 4});
  std::vector<int32_t> next = {0, 0};
  for (int step = 0; step < 6; ++step) {
    std::vector<model::SequenceInput> bf, bt;
    for (int i = 0; i < 2; ++i) {
      const std::span<const int32_t> tokens =
          step == 0 ? std::span<const int32_t>(i == 0 ? p0 : p1) : std::span<const int32_t>(&next[i], 1);
      bf.push_back({&full[i], tokens});
      bt.push_back({&top[i], tokens});
    }
    const auto rows = gpu.eval(bf);
    std::vector<std::vector<float>> rows_copy;
    for (const auto& r : rows) rows_copy.emplace_back(r.begin(), r.end());
    const auto tops = gpu.eval_top_k(bt, k);
    ASSERT_EQ(tops.size(), 2u);
    for (int i = 0; i < 2; ++i) {
      std::vector<float> want_l;
      std::vector<int32_t> want_i;
      model::top_logits(rows_copy[i], k, want_l, want_i);
      EXPECT_EQ(std::vector<int32_t>(tops[i].ids.begin(), tops[i].ids.end()), want_i) << "step " << step;
      EXPECT_EQ(std::vector<float>(tops[i].logits.begin(), tops[i].logits.end()), want_l) << "step " << step;
      const int32_t a = from_rows.sample(rows_copy[i], {});
      const int32_t b = from_top.sample_top(tops[i].logits, tops[i].ids);
      EXPECT_EQ(a, b) << "step " << step;
      next[i] = a;
    }
  }
  EXPECT_EQ(gpu.device_top_k_limit(), kMaxTopK);
}

// Embeddings of the two embedding models' tiny shapes (head size 128, their eps): inputs of 3, 37 and
// 300 tokens (flash tiles) in one batch are each bit-identical to the input alone on the GPU, and within
// each input's own f16 scale of the CPU's vector (how far the CPU's moves between an f16 and an f32
// cache), as the logits are above.
TEST(CudaBackend, EmbeddingsMatchTheCpuAndEachInputAlone) {
  TRIT_REQUIRE_GPU();
  for (const char* shape : {"embed-qwen3-tiny", "embed-gemma3-tiny"}) {
    SCOPED_TRACE(shape);
    auto m = load_dummy(model::find_dummy_shape(shape), 17);
    const int vocab = static_cast<int>(m->hparams().n_vocab);
    const std::vector<std::vector<int32_t>> inputs = {prompt_tokens(3, vocab), prompt_tokens(37, vocab),
                                                      prompt_tokens(300, vocab)};
    model::Embedder cpu16(*m, 2, model::KvType::kF16), cpu32(*m, 2, model::KvType::kF32);
    model::Embedder gpu(std::make_unique<CudaBackend>(*m, CudaOptions{.show_progress = false}), model::KvType::kF16);
    const auto want = cpu16.embed(inputs), want32 = cpu32.embed(inputs);
    const auto got = gpu.embed(inputs);
    ASSERT_EQ(got.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      ASSERT_EQ(got[i].size(), static_cast<size_t>(m->hparams().n_embd));
      const double f16_effect = rel_l2(want[i], want32[i]), err = rel_l2(got[i], want[i]);
      std::printf("%s input %zu (%zu tokens): GPU vs CPU %.3e, CPU f16 vs f32 %.3e\n", shape, i, inputs[i].size(), err,
                  f16_effect);
      EXPECT_LT(err, std::max(f16_effect, 1e-6)) << "input " << i;
      const auto alone = gpu.embed({&inputs[i], 1});
      EXPECT_EQ(alone[0], got[i]) << "input " << i << " alone";
    }
    // Unnormalised: the pooled hidden state itself, same direction.
    const auto raw = gpu.embed({&inputs[1], 1}, /*normalize=*/false);
    double norm = 0;
    for (float v : raw[0]) norm += static_cast<double>(v) * v;
    ASSERT_GT(norm, 0.0);
    for (size_t k = 0; k < raw[0].size(); ++k)
      EXPECT_NEAR(raw[0][k] / std::sqrt(norm), got[1][k], 1e-6) << "dimension " << k;
  }
}

// The persistent decode kernel against the per-kernel path on the same GPU, with graphs and without:
// the same greedy tokens over a long decode (the cache growing past many times its warps' stride),
// logits close (they differ only in the order two block sums are added), and a model it cannot take
// (Gemma's post-norms) left on the per-kernel path.
TEST(CudaBackend, PersistentDecodeFollowsThePerKernelPath) {
  TRIT_REQUIRE_GPU();
  auto m = dummy("bitnet-b1.58", 36, 14);
  CudaBackend kernels(*m, {.show_progress = false});
  for (const bool graphs : {true, false}) {
    CudaBackend persistent(*m, {.graphs = graphs, .persistent_decode = true, .show_progress = false});
    model::KvCache a(m->hparams(), 160, model::KvType::kF16), b(m->hparams(), 160, model::KvType::kF16);
    const auto p = prompt_tokens(11, 1000);
    const model::SequenceInput ia{&a, p}, ib{&b, p};
    int32_t next = sampling::argmax(kernels.eval({&ia, 1})[0]);
    EXPECT_EQ(sampling::argmax(persistent.eval({&ib, 1})[0]), next);
    double worst = 0;
    for (int i = 0; i < 120; ++i) {
      const model::SequenceInput sa{&a, {&next, 1}}, sb{&b, {&next, 1}};
      const auto want_span = kernels.eval({&sa, 1})[0];
      const std::vector<float> want(want_span.begin(), want_span.end());
      const auto got = persistent.eval({&sb, 1})[0];
      worst = std::max(worst, rel_l2(got, want));
      ASSERT_EQ(sampling::argmax(got), sampling::argmax(want)) << "step " << i;
      next = sampling::argmax(want);
    }
    EXPECT_LT(worst, 1e-3);
    EXPECT_EQ(persistent.persistent_steps(), 120);
    std::printf("persistent vs per-kernel decode (graphs %d): at most %.3e\n", graphs ? 1 : 0, worst);
  }
  auto g = dummy("gemma3", 36, 15);
  CudaBackend gemma(*g, {.persistent_decode = true, .show_progress = false});
  model::KvCache c(g->hparams(), 16, model::KvType::kF16);
  const std::vector<int32_t> one = {5};
  const model::SequenceInput in{&c, one};
  gemma.eval({&in, 1});
  EXPECT_EQ(gemma.persistent_steps(), 0);
}

TEST(CudaBackend, BadBatchesAreErrorsThatLeaveTheCacheAlone) {
  TRIT_REQUIRE_GPU();
  auto m = dummy("bitnet-b1.58", 36, 9);
  CudaBackend gpu(*m, {.show_progress = false});
  model::KvCache cache(m->hparams(), 8, model::KvType::kF16);
  const std::vector<int32_t> too_long = prompt_tokens(9, 1000), bad_id = {1, 5000};
  const model::SequenceInput a{&cache, too_long}, b{&cache, bad_id};
  EXPECT_THROW(gpu.eval({&a, 1}), trit::Error);
  EXPECT_THROW(gpu.eval({&b, 1}), trit::Error);
  EXPECT_EQ(cache.n_past(), 0);
  const std::vector<int32_t> ok = {1, 2, 3};
  const model::SequenceInput c{&cache, ok};
  EXPECT_EQ(gpu.eval({&c, 1})[0].size(), static_cast<size_t>(m->hparams().n_vocab));
  EXPECT_EQ(cache.n_past(), 3);
}

}  // namespace
}  // namespace trit::cuda
