// `trit bench`: llama-bench-style speed figures. pp<N>: one batch of N prompt tokens into an empty
// context; tg<N>: N tokens decoded one at a time. Mean +- standard deviation over repetitions, as a
// markdown table or JSON; --roofline adds the machine's read bandwidth and decode as a % of its limit.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "device/backend_factory.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/bandwidth.h"
#include "runtime/cpu_features.h"
#include "runtime/error.h"

namespace trit::cli {
namespace {

struct BenchFlags {
  std::string model;
  std::vector<int64_t> prompt_sizes = {128};
  std::vector<int64_t> gen_sizes = {128};
  std::vector<int> threads;
  int repetitions = 5;
  std::string output = "md";
  bool roofline = false;
  bool mmap = false;
  bool output_q8 = false;
  std::string device = "cpu";
  bool gemv = false;
};

struct Result {
  std::string test;  // "pp128", "tg128"
  int threads;
  double mean_tps, sd_tps;
  double roofline_pct = -1;  // tg only, with --roofline
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int32_t> random_tokens(int64_t n, int64_t n_vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(n_vocab - 1));
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (auto& t : out) t = d(rng);
  return out;
}

// Tokens per second of each repetition (after one warm-up run).
std::vector<double> run_test(model::Backend& backend, int64_t n_prompt, int64_t n_gen, int reps) {
  const model::Model& m = backend.model();
  const int64_t n_ctx = std::max<int64_t>(n_prompt + n_gen, 16);
  model::KvCache cache(m.hparams(), n_ctx, model::KvType::kF16);
  const auto tokens = random_tokens(std::max(n_prompt, n_gen), m.hparams().n_vocab, 1);
  auto eval = [&](std::span<const int32_t> t) {
    const model::SequenceInput in{&cache, t};
    backend.eval({&in, 1});
  };
  std::vector<double> tps;
  for (int r = -1; r < reps; ++r) {
    cache.reset();
    const auto t0 = std::chrono::steady_clock::now();
    if (n_prompt > 0) {
      eval(std::span<const int32_t>(tokens.data(), static_cast<size_t>(n_prompt)));
    } else {
      for (int64_t i = 0; i < n_gen; ++i) eval(std::span<const int32_t>(&tokens[i], 1));
    }
    const double s = seconds_since(t0);
    if (r >= 0) tps.push_back(static_cast<double>(n_prompt > 0 ? n_prompt : n_gen) / s);
  }
  return tps;
}

// Mean and sample standard deviation of the repetitions; the roofline share when a limit is known.
Result summarize(std::string test, int threads, const std::vector<double>& tps, double limit_tps) {
  double mean = 0, var = 0;
  for (double v : tps) mean += v / static_cast<double>(tps.size());
  for (double v : tps) var += (v - mean) * (v - mean) / static_cast<double>(std::max<size_t>(1, tps.size() - 1));
  return {std::move(test), threads, mean, std::sqrt(var), limit_tps > 0 ? 100.0 * mean / limit_tps : -1};
}

void bench(const BenchFlags& f) {
  if (f.repetitions < 1) trit::fail("-r must be at least 1");
  if (f.output != "md" && f.output != "json") trit::fail("-o must be md or json, got '{}'", f.output);
  auto m = model::Model::load(f.model, {.show_progress = false, .load_into_memory = !f.mmap, .output_q8 = f.output_q8});
  const auto& hp = m->hparams();
  std::vector<int> threads = f.threads;
  if (threads.empty()) threads.push_back(runtime::cpu_features().n_physical_cores);
  const double size_gib = static_cast<double>(m->file().file_size()) / (1 << 30);
  const int64_t bytes_per_token = m->weights().bytes_per_token();
  std::fprintf(stderr, "trit bench: %s, %s\n", f.model.c_str(), runtime::describe_cpu().c_str());

  std::vector<Result> results;
  // Every pp and tg test on one backend. With --roofline, limit_gbps() gives the bandwidth after each
  // decode test, described by `bandwidth_what`.
  auto run_tests = [&](model::Backend& backend, int threads, int64_t bytes, const std::function<double()>& limit_gbps,
                       const std::string& bandwidth_what) {
    for (int64_t p : f.prompt_sizes)
      if (p > 0)
        results.push_back(summarize(fmt::format("pp{}", p), threads, run_test(backend, p, 0, f.repetitions), -1));
    for (int64_t n : f.gen_sizes) {
      if (n <= 0) continue;
      const std::vector<double> tps = run_test(backend, 0, n, f.repetitions);
      double limit_tps = -1;
      if (f.roofline) {
        const double gbps = limit_gbps();
        limit_tps = gbps * 1e9 / static_cast<double>(bytes);
        std::fprintf(stderr, "%s: %.1f GB/s -> decode limit %.1f tok/s (%.0f MB per token)\n", bandwidth_what.c_str(),
                     gbps, limit_tps, static_cast<double>(bytes) / 1e6);
      }
      results.push_back(summarize(fmt::format("tg{}", n), threads, tps, limit_tps));
    }
  };
  const bool gpu = device::is_gpu(f.device);
  std::string kernels = runtime::isa_name(runtime::active_isa());
  if (gpu) {
    // One backend (the weights uploaded once) for every test; the roofline is the device's copy bandwidth.
    auto backend = device::make_backend(*m, {.device = f.device, .show_progress = false});
    kernels = backend->device_name();
    std::fprintf(stderr, "trit bench: on %s\n", kernels.c_str());
    run_tests(
        *backend, 0, device::gpu_bytes_per_token(*backend), [&] { return device::gpu_bandwidth_gbps(f.device); },
        "device copy bandwidth");
  }
  for (int t : gpu ? std::vector<int>{} : threads) {
    if (t < 1) trit::fail("-t values must be at least 1, got {}", t);
    model::Forward backend(*m, t);
    // The host's bandwidth can change while the tests run (shared machines): the limit is the best read
    // bandwidth measured just before and just after each decode test.
    double gbps = f.roofline ? runtime::measure_read_bandwidth(t) : 0;
    run_tests(
        backend, t, bytes_per_token,
        [&] {
          gbps = std::max(gbps, runtime::measure_read_bandwidth(t));
          return gbps;
        },
        fmt::format("read bandwidth with {} thread(s)", t));
  }
  if (gpu && f.gemv) {
    // bitnet.cpp's published GPU shapes (its W2A8 kernel: 2560x2560 and 13824x2560) plus the 2B-4T's others.
    std::vector<device::GemvTiming> shapes;
    for (auto [rows, cols] : {std::pair{2560, 2560}, {3840, 2560}, {13824, 2560}, {2560, 6912}})
      for (int tokens : {1, 8, 128}) shapes.push_back({rows, cols, tokens, 0, 0});
    std::fprintf(stderr, "ternary matmul alone (per launch, 100 back to back, median of 9; weights not in L2):\n");
    std::printf("| rows x cols | tokens | us | weight GB/s |\n| --- | ---: | ---: | ---: |\n");
    for (const auto& g : device::gpu_gemv_timings(f.device, shapes))
      std::printf("| %dx%d | %d | %.2f | %.0f |\n", g.rows, g.cols, g.tokens, g.median_us, g.gbps);
    std::printf("\n");
  }

  if (f.output == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : results) {
      nlohmann::json j = {{"model", f.model},           {"arch", hp.arch},      {"size_bytes", m->file().file_size()},
                          {"kernels", kernels},         {"threads", r.threads}, {"test", r.test},
                          {"tokens_per_s", r.mean_tps}, {"stddev", r.sd_tps},   {"bytes_per_token", bytes_per_token}};
      if (r.roofline_pct >= 0) j["roofline_pct"] = r.roofline_pct;
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("| model | size | kernels | threads | test | t/s |%s\n", f.roofline ? " % of roofline |" : "");
  std::printf("| --- | ---: | --- | ---: | ---: | ---: |%s\n", f.roofline ? " ---: |" : "");
  for (const auto& r : results) {
    std::string roof;
    if (f.roofline) roof = r.roofline_pct >= 0 ? fmt::format(" {:.0f}% |", r.roofline_pct) : " |";
    std::printf("| %s %s | %.2f GiB | %s | %d | %s | %.2f ± %.2f |%s\n", hp.arch.c_str(),
                gguf::type_name(m->file().tensor("blk.0.attn_q.weight").type_id).c_str(), size_gib, kernels.c_str(),
                r.threads, r.test.c_str(), r.mean_tps, r.sd_tps, roof.c_str());
  }
}

}  // namespace

void register_bench(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  auto* cmd = app.add_subcommand("bench", "Measure prompt and generation speed (llama-bench style)");
  cmd->add_option("-m,--model", flags->model, "Model file (GGUF)")->required()->check(CLI::ExistingFile);
  cmd->add_option("-p,--n-prompt", flags->prompt_sizes, "Prompt sizes to test (pp), comma separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", flags->gen_sizes, "Generation lengths to test (tg), comma separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-t,--threads", flags->threads, "Thread counts to test, comma separated (default: physical cores)")
      ->delimiter(',');
  cmd->add_option("-r,--repetitions", flags->repetitions, "Repetitions of each test")->capture_default_str();
  cmd->add_option("-o,--output", flags->output, "Output format: md or json")->capture_default_str();
  cmd->add_flag("--roofline", flags->roofline,
                "Measure the read bandwidth and show decode speed as a % of the limit it sets");
  cmd->add_flag("--mmap", flags->mmap, "Use the weights in place from the mapped file");
  cmd->add_flag("--output-q8", flags->output_q8, "Quantise an F16/F32 output projection to Q8_0 at load");
  cmd->add_option("-d,--device", flags->device,
                  "cpu, or cuda / cuda:N: the tests on the GPU (threads are ignored; --roofline uses the device's "
                  "copy bandwidth)")
      ->capture_default_str();
  cmd->add_flag("--gemv", flags->gemv,
                "With a GPU device: also time the ternary matmul alone on bitnet.cpp's GPU shapes and the 2B-4T's");
  cmd->callback([flags] { bench(*flags); });
}

}  // namespace trit::cli
