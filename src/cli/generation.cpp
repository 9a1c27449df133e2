// The generation loop and the flags that steer it.
#include "cli/generation.h"

#include <fmt/format.h>

#include <chrono>
#include <random>

#include "device/backend_factory.h"
#include "sampling/stop.h"
#include "tokenizer/tokenizer.h"

namespace trit::cli {

void ModelFlags::add_to(CLI::App& cmd) {
  cmd.add_option("-m,--model", path, "Model file (GGUF)")->required()->check(CLI::ExistingFile);
  cmd.add_option("-c,--ctx-size", n_ctx, "Context size in tokens (default: the model's, at most 4096)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("-t,--threads", n_threads, "Threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd.add_option("--cache-type", cache_type, "KV cache element type: f16 (as llama.cpp) or f32")
      ->check(CLI::IsMember({"f16", "f32"}))
      ->capture_default_str();
  cmd.add_flag("--mmap", mmap,
               "Use the weights in place from the mapped file instead of reading them into huge-page memory "
               "(faster start, slower decode)");
  cmd.add_flag("--output-q8", output_q8,
               "Quantise an F16/F32 output projection to Q8_0 at load (faster decode; logits differ slightly from "
               "llama.cpp's)");
  cmd.add_flag("-q,--quiet", quiet, "No progress bars or statistics on stderr");
  cmd.add_option("-d,--device", device, "Where the forward pass runs: cpu, cuda or cuda:N (a CUDA build)")
      ->capture_default_str();
  cmd.add_option("--ngl,--n-gpu-layers", n_gpu_layers,
                 "llama.cpp's offload flag: any value > 0 runs every layer on the GPU (as --device cuda)")
      ->check(CLI::NonNegativeNumber);
}

std::string ModelFlags::resolved_device() const {
  if (device == "cpu" && n_gpu_layers > 0) return "cuda";
  return device;
}

std::unique_ptr<model::Backend> ModelFlags::make_backend(const model::Model& model) const {
  return device::make_backend(model, {.device = resolved_device(), .n_threads = n_threads, .show_progress = !quiet});
}

model::ContextOptions ModelFlags::context_options() const {
  return {.n_ctx = n_ctx,
          .n_threads = n_threads,
          .kv_type = cache_type == "f32" ? model::KvType::kF32 : model::KvType::kF16};
}

void SamplingFlags::add_to(CLI::App& cmd) {
  cmd.add_option("-n,--n-predict", n_predict, "Tokens to generate at most")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--temp", params.temperature, "Temperature (0: greedy)")->capture_default_str();
  cmd.add_option("--top-k", params.top_k, "Top-k filter (0: off)")->capture_default_str();
  cmd.add_option("--top-p", params.top_p, "Top-p (nucleus) filter (1: off)")->capture_default_str();
  cmd.add_option("--min-p", params.min_p, "Min-p filter (0: off)")->capture_default_str();
  cmd.add_option("--repeat-penalty", params.repeat_penalty, "Repetition penalty (1: off)")->capture_default_str();
  cmd.add_option("--repeat-last-n", params.repeat_last_n, "Tokens the penalties look back at (-1: all)")
      ->capture_default_str();
  cmd.add_option("--presence-penalty", params.presence_penalty, "Presence penalty")->capture_default_str();
  cmd.add_option("--frequency-penalty", params.frequency_penalty, "Frequency penalty")->capture_default_str();
  cmd.add_option("-s,--seed", seed, "Random seed (-1: random)")->capture_default_str();
  cmd.add_option("--stop", stops, "Stop when this text is generated (repeatable)");
  cmd.add_flag("--ignore-eos", ignore_eos, "Keep generating after end-of-generation tokens");
}

sampling::SamplerParams SamplingFlags::resolved() const {
  sampling::SamplerParams p = params;
  p.seed = seed >= 0 ? static_cast<uint64_t>(seed) : std::random_device{}();
  p.validate();
  return p;
}

GenerationStats generate(model::Context& ctx, const std::vector<int32_t>& prompt_tokens, const SamplingFlags& flags,
                         sampling::Sampler& sampler, std::vector<int32_t>& history,
                         const std::function<void(const std::string&)>& on_text) {
  using Clock = std::chrono::steady_clock;
  const auto& tok = ctx.model().tokenizer();
  GenerationStats stats;
  stats.n_prompt = static_cast<int64_t>(prompt_tokens.size());
  history.insert(history.end(), prompt_tokens.begin(), prompt_tokens.end());

  // Where the sampler decides from the top k logits and the backend picks those on the device (a GPU),
  // only they come back; otherwise the whole row.
  const int32_t top = sampler.top_needed();
  const bool top_on_device = ctx.backend().picks_top_k(top);
  std::vector<float> logits;
  std::vector<int32_t> ids;
  auto eval = [&](std::span<const int32_t> tokens) {
    if (top_on_device) {
      const model::TopLogits t = ctx.eval_top_k(tokens, top);
      logits.assign(t.logits.begin(), t.logits.end());
      ids.assign(t.ids.begin(), t.ids.end());
    } else {
      const std::span<const float> l = ctx.eval(tokens);
      logits.assign(l.begin(), l.end());
    }
  };

  auto t0 = Clock::now();
  if (!prompt_tokens.empty()) eval(prompt_tokens);
  stats.prompt_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

  tokenizer::StreamDecoder decoder(tok);
  sampling::StopStrings stops(flags.stops);
  stats.stop_reason = "length";
  t0 = Clock::now();
  for (int64_t i = 0; i < flags.n_predict; ++i) {
    if (logits.empty()) break;
    const int32_t id = top_on_device ? sampler.sample_top(logits, ids) : sampler.sample(logits, history);
    history.push_back(id);
    ++stats.n_generated;
    if (!flags.ignore_eos && tok.is_eog(id)) {
      stats.stop_reason = "eos";
      break;
    }
    const std::string text = stops.push(decoder.push(id));
    if (!text.empty()) on_text(text);
    if (stops.stopped()) {
      stats.stop_reason = "stop string";
      break;
    }
    if (i + 1 == flags.n_predict) break;
    if (ctx.n_past() >= ctx.n_ctx()) {
      stats.stop_reason = "context full";
      break;
    }
    eval(std::span<const int32_t>(&history.back(), 1));
  }
  if (!stops.stopped()) {
    const std::string rest = stops.push(decoder.flush()) + stops.flush();
    if (!rest.empty()) on_text(rest);
  }
  stats.generation_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return stats;
}

std::string format_stats(const GenerationStats& s) {
  auto rate = [](int64_t n, double ms) { return ms > 0 ? n * 1000.0 / ms : 0.0; };
  return fmt::format(
      "prompt: {} tokens in {:.1f} ms ({:.1f} tok/s) | generation: {} tokens in {:.1f} ms ({:.1f} tok/s)", s.n_prompt,
      s.prompt_ms, rate(s.n_prompt, s.prompt_ms), s.n_generated, s.generation_ms, rate(s.n_generated, s.generation_ms));
}

}  // namespace trit::cli
