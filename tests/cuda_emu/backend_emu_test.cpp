// The real CUDA backend (cuda_backend.cpp, device_weights.cpp) on the CPU: the fake runtime
// (fake_runtime.h) and launchers that do each kernel's work with the CPU engine's own kernels
// (emulated_kernels.cpp). The numbers must then be the CPU engine's, so what this pins is the backend's
// orchestration: the weight upload and repacking, buffers and strides, the order of norms and projections
// for every architecture (the embedding models' extra norms, Gemma's post-norms, scaled embeddings and
// sliding window), graphs captured and replayed, embeddings pooled, and the persistent decode step's
// arguments (its kernel runs in the SIMT emulation). The GPU itself is tested in tests/cuda.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/shared_cases.h"
#include "fake_runtime.h"
#include "model/dummy.h"
#include "model/embedding.h"
#include "model/forward.h"
#include "sampling/sampler.h"
#include "support/test_data.h"

namespace trit::cuda {
namespace {

std::vector<int32_t> tokens(int n, int vocab) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 7919 + 13) % vocab));
  return t;
}

// A prompt's logits at every position, then greedy decode steps (graphs), against the CPU engine. Only
// summation orders differ from the CPU (attention, F16 output rows); the bound is the GPU tests' (the
// CPU's own f16-vs-f32-cache difference, a twentieth of it with an f32 cache), and a wrong stride, buffer
// or norm is off by far more.
void check_against_cpu(const std::string& arch, model::KvType kv, int64_t window, bool persistent) {
  SCOPED_TRACE(arch + (kv == model::KvType::kF16 ? " f16" : " f32") + " window " + std::to_string(window) +
               (persistent ? " persistent" : ""));
  model::DummyShape shape{"emu", arch, 128, 256, 2, 4, 2, 300, 64, 10000.0};
  shape.sliding_window = window;
  auto m = load_dummy(shape, 3);
  const int64_t n_vocab = m->hparams().n_vocab;
  model::Forward cpu(*m, 1);
  CudaBackend gpu(*m, {.flash_min_tokens = 0, .persistent_decode = persistent, .show_progress = false});
  model::KvCache cc(m->hparams(), 48, kv), gc(m->hparams(), 48, kv);
  const auto prompt = tokens(19, static_cast<int>(n_vocab));
  std::vector<float> by_kv[2];
  for (const model::KvType k : {model::KvType::kF16, model::KvType::kF32}) {
    model::KvCache cache(m->hparams(), 48, k);
    const model::SequenceInput in{&cache, prompt, true};
    const auto out = cpu.eval({&in, 1})[0];
    by_kv[k == model::KvType::kF32].assign(out.begin(), out.end());
  }
  const double f16_effect = rel_l2(by_kv[0], by_kv[1]);
  const double bound = kv == model::KvType::kF16 ? f16_effect : f16_effect / 20;
  const model::SequenceInput ci{&cc, prompt, true}, gi{&gc, prompt, true};
  const auto want_span = cpu.eval({&ci, 1})[0];
  const std::vector<float> want(want_span.begin(), want_span.end());
  const auto got = gpu.eval({&gi, 1})[0];
  ASSERT_EQ(got.size(), want.size());
  const double prompt_err = rel_l2(got, want);  // got is overwritten by the next eval
  EXPECT_LT(prompt_err, bound);
  int32_t next = sampling::argmax(std::span(want).subspan((prompt.size() - 1) * n_vocab, n_vocab));
  const long launches = fake::graph_launches();
  double worst = 0;
  for (int i = 0; i < 6; ++i) {
    const model::SequenceInput cs{&cc, {&next, 1}}, gs{&gc, {&next, 1}};
    const auto cl_span = cpu.eval({&cs, 1})[0];
    const std::vector<float> cl(cl_span.begin(), cl_span.end());
    const auto gl = gpu.eval({&gs, 1})[0];
    worst = std::max(worst, rel_l2(gl, cl));
    ASSERT_EQ(sampling::argmax(gl), sampling::argmax(cl)) << "step " << i;
    next = sampling::argmax(cl);
  }
  EXPECT_LT(worst, bound);
  EXPECT_EQ(fake::graph_launches() - launches, 6) << "decode steps replay their graph";
  EXPECT_EQ(gpu.persistent_steps(), persistent ? 6 : 0);
  std::printf("emulated backend vs CPU: prompt %.3e, decode at most %.3e (bound %.3e)\n", prompt_err, worst, bound);
}

TEST(EmulatedCudaBackend, EveryArchitectureGivesTheCpuEnginesLogits) {
  check_against_cpu("bitnet-b1.58", model::KvType::kF16, 0, false);
  check_against_cpu("bitnet", model::KvType::kF32, 0, false);
  check_against_cpu("llama", model::KvType::kF16, 0, false);
  check_against_cpu("qwen3", model::KvType::kF16, 0, false);   // per-projection and per-head norms
  check_against_cpu("gemma3", model::KvType::kF32, 8, false);  // post-norms, scaled embeddings, GELU, window
}

TEST(EmulatedCudaBackend, PersistentDecodeStepsGiveTheCpuEnginesLogits) {
  check_against_cpu("bitnet-b1.58", model::KvType::kF16, 0, true);
  check_against_cpu("llama", model::KvType::kF32, 0, true);
}

// Embeddings through CudaBackend::embed (the hidden rows back to the host, pooled there) for both
// embedding models' tiny shapes: the CPU engine's vectors, and each input alone as in a batch.
TEST(EmulatedCudaBackend, EmbeddingsAreTheCpuEnginesVectors) {
  for (const char* name : {"embed-qwen3-tiny", "embed-gemma3-tiny"}) {
    SCOPED_TRACE(name);
    auto m = load_dummy(model::find_dummy_shape(name), 9);
    const int vocab = static_cast<int>(m->hparams().n_vocab);
    const std::vector<std::vector<int32_t>> inputs = {tokens(3, vocab), tokens(21, vocab), tokens(1, vocab)};
    model::Embedder cpu(*m, 1, model::KvType::kF16), cpu32(*m, 1, model::KvType::kF32);
    model::Embedder gpu(std::make_unique<CudaBackend>(*m, CudaOptions{.flash_min_tokens = 0, .show_progress = false}),
                        model::KvType::kF16);
    const auto want = cpu.embed(inputs), want32 = cpu32.embed(inputs), got = gpu.embed(inputs);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      // The GPU tests' bound: the CPU's own f16-vs-f32-cache difference (never below float rounding).
      EXPECT_LT(rel_l2(got[i], want[i]), std::max(rel_l2(want[i], want32[i]), 1e-6)) << "input " << i;
      EXPECT_EQ(gpu.embed({&inputs[i], 1})[0], got[i]) << "input " << i << " alone";
    }
  }
}

}  // namespace
}  // namespace trit::cuda
