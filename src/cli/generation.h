// What `trit run` and `trit chat` share: the model and sampling flags, and the generation loop that
// streams text (whole UTF-8 characters, stop strings held back) and measures speed.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/context.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace trit::cli {

struct ModelFlags {
  std::string path;
  int64_t n_ctx = 0;
  int n_threads = 0;
  std::string cache_type = "f16";
  bool mmap = false;
  bool output_q8 = false;
  bool quiet = false;
  std::string device = "cpu";  // cpu, cuda, cuda:N
  int n_gpu_layers = 0;        // llama.cpp's -ngl: any value > 0 means every layer on the GPU (cuda)
  void add_to(CLI::App& cmd);
  model::ContextOptions context_options() const;
  // The device the flags name ("cpu" unless --device or --n-gpu-layers asks for the GPU).
  std::string resolved_device() const;
  // The backend for that device (the CPU with n_threads, or the GPU with the weights uploaded).
  std::unique_ptr<model::Backend> make_backend(const model::Model& model) const;
  model::LoadOptions load_options() const {
    return {.show_progress = !quiet, .load_into_memory = !mmap, .output_q8 = output_q8};
  }
};

struct SamplingFlags {
  sampling::SamplerParams params;
  int64_t seed = -1;  // -1: random
  int64_t n_predict = 128;
  std::vector<std::string> stops;
  bool ignore_eos = false;
  void add_to(CLI::App& cmd);
  sampling::SamplerParams resolved() const;  // with the seed chosen
};

struct GenerationStats {
  int64_t n_prompt = 0;
  double prompt_ms = 0;
  int64_t n_generated = 0;
  double generation_ms = 0;
  std::string stop_reason;  // "eos", "stop string", "length", "context full"
};

// Evaluates `prompt_tokens` (after the context's current contents), then samples up to n_predict
// tokens, calling on_text with each printable piece. Returns the tokens generated and timings.
GenerationStats generate(model::Context& ctx, const std::vector<int32_t>& prompt_tokens, const SamplingFlags& flags,
                         sampling::Sampler& sampler, std::vector<int32_t>& history,
                         const std::function<void(const std::string&)>& on_text);

// "prompt: 6 tokens in 12.3 ms (487.8 tok/s) | generation: 32 tokens in 456.0 ms (70.2 tok/s)"
std::string format_stats(const GenerationStats& stats);

}  // namespace trit::cli
