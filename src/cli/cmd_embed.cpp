// `trit embed`: one embedding per input text (-p, repeatable, or -f one input per line) from an
// embedding model, as JSON lines or raw little-endian values, optionally quantised to int8 or binary.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "device/backend_factory.h"
#include "model/embedding.h"
#include "model/model.h"
#include "runtime/error.h"
#include "runtime/progress.h"

namespace trit::cli {
namespace {

struct EmbedFlags {
  std::string model;
  std::vector<std::string> prompts;
  std::string file;
  std::string format = "json";
  std::string quantize = "none";
  int64_t batch = 8;
  int64_t max_tokens = 0;
  int n_threads = 0;
  std::string cache_type = "f16";
  std::string device = "cpu";
  bool no_normalize = false;
  bool mmap = false;
  bool quiet = false;
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) trit::fail("{}: cannot read the file", path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

void write_bytes(const void* data, size_t n) {
  if (n && std::fwrite(data, 1, n, stdout) != n) trit::fail("cannot write to standard output");
}

// One input's output line (json) or bytes (raw).
void emit(const EmbedFlags& f, size_t index, std::span<const float> e) {
  const bool json = f.format == "json";
  if (f.quantize == "int8") {
    std::vector<int8_t> q(e.size());
    const float scale = model::quantize_embedding_int8(e, q);
    if (json)
      fmt::print("{{\"index\":{},\"embedding\":[{}],\"scale\":{}}}\n", index, fmt::join(q, ","), scale);
    else
      write_bytes(q.data(), q.size());
  } else if (f.quantize == "binary") {
    const std::vector<uint8_t> bits = model::quantize_embedding_binary(e);
    if (json)
      fmt::print("{{\"index\":{},\"embedding\":[{}]}}\n", index, fmt::join(bits, ","));
    else
      write_bytes(bits.data(), bits.size());
  } else if (json) {
    fmt::print("{{\"index\":{},\"embedding\":[{}]}}\n", index, fmt::join(e, ","));
  } else {
    write_bytes(e.data(), e.size() * sizeof(float));  // x86-64 and aarch64 are little-endian
  }
}

void embed(const EmbedFlags& f) {
  std::vector<std::string> inputs = f.prompts;
  if (!f.file.empty()) {
    auto lines = read_lines(f.file);
    inputs.insert(inputs.end(), lines.begin(), lines.end());
  }
  if (inputs.empty()) trit::fail("embed needs -p TEXT or -f FILE (one input per line)");

  auto m = model::Model::load(f.model, {.show_progress = !f.quiet, .load_into_memory = !f.mmap});
  const model::HParams& h = m->hparams();
  if (h.pooling == model::Pooling::kNone && !f.quiet)
    fmt::print(stderr,
               "trit: note: {} is not marked as an embedding model (no {}.pooling_type); pooling the last token\n",
               f.model, h.arch);
  const int64_t limit = f.max_tokens > 0 ? f.max_tokens : h.n_ctx_train;
  std::vector<std::vector<int32_t>> tokens;
  tokens.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    try {
      tokens.push_back(model::embedding_tokens(m->tokenizer(), inputs[i], limit));
    } catch (const trit::Error& e) {
      trit::fail("input {}: {}", i, e.what());
    }
  }

  model::Embedder embedder(
      device::make_backend(*m, {.device = f.device, .n_threads = f.n_threads, .show_progress = !f.quiet}),
      f.cache_type == "f32" ? model::KvType::kF32 : model::KvType::kF16);
  runtime::ProgressBar progress("embedding", inputs.size(), runtime::ProgressBar::Unit::kCount, f.quiet);
  const auto start = std::chrono::steady_clock::now();
  int64_t n_tokens = 0;
  for (size_t first = 0; first < tokens.size(); first += static_cast<size_t>(f.batch)) {
    const size_t count = std::min(static_cast<size_t>(f.batch), tokens.size() - first);
    const auto vectors = embedder.embed(std::span(tokens).subspan(first, count), !f.no_normalize);
    for (size_t i = 0; i < count; ++i) {
      emit(f, first + i, vectors[i]);
      n_tokens += static_cast<int64_t>(tokens[first + i].size());
    }
    std::fflush(stdout);
    progress.add(count);
  }
  progress.finish();
  if (!f.quiet) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    fmt::print(stderr, "{} inputs, {} tokens in {:.1f} ms ({:.1f} tok/s), {} dimensions, on {}\n", inputs.size(),
               n_tokens, ms, ms > 0 ? n_tokens * 1000.0 / ms : 0.0, h.n_embd, embedder.backend().device_name());
  }
}

}  // namespace

void register_embed(CLI::App& app) {
  auto flags = std::make_shared<EmbedFlags>();
  CLI::App* cmd = app.add_subcommand("embed", "Text embeddings from an embedding model (BitNet-embedding-0.6B/270M)");
  cmd->add_option("-m,--model", flags->model, "Model file (GGUF)")->required()->check(CLI::ExistingFile);
  cmd->add_option("-p,--prompt", flags->prompts, "Input text (repeatable; each is one embedding)");
  cmd->add_option("-f,--file", flags->file, "Read inputs from FILE, one per line")->check(CLI::ExistingFile);
  cmd->add_option("--format", flags->format, "Output: json (one line per input) or raw (values back to back)")
      ->check(CLI::IsMember({"json", "raw"}))
      ->capture_default_str();
  cmd->add_option("--quantize", flags->quantize,
                  "Quantise each embedding: none (float32), int8 (per-vector scale max|x|/127) or binary (sign bits, "
                  "first dimension in the top bit)")
      ->check(CLI::IsMember({"none", "int8", "binary"}))
      ->capture_default_str();
  cmd->add_option("--batch", flags->batch, "Inputs per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-tokens", flags->max_tokens, "Refuse inputs longer than this (default: the model's context)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", flags->n_threads, "Threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--cache-type", flags->cache_type, "KV cache element type: f16 (as llama.cpp) or f32")
      ->check(CLI::IsMember({"f16", "f32"}))
      ->capture_default_str();
  cmd->add_option("-d,--device", flags->device, "Where the forward pass runs: cpu, cuda or cuda:N (a CUDA build)")
      ->capture_default_str();
  cmd->add_flag("--mmap", flags->mmap, "Use the weights in place from the mapped file (faster start)");
  cmd->add_flag("--no-normalize", flags->no_normalize, "Pooled hidden states without L2 normalisation");
  cmd->add_flag("-q,--quiet", flags->quiet, "No progress or statistics on stderr");
  cmd->callback([flags] { embed(*flags); });
}

}  // namespace trit::cli
