// `trit perplexity`: a model's perplexity on a text file, measured and printed as llama-perplexity does
// ("[1]12.3456,[2]11.9876,..." then "Final estimate: PPL = X +/- Y").
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "model/model.h"
#include "runtime/error.h"
#include "runtime/mapped_file.h"
#include "train/perplexity.h"

namespace trit::cli {
namespace {

struct PerplexityFlags {
  std::string model;
  std::string file;
  int64_t n_ctx = 512;
  int64_t n_chunks = -1;
  int64_t n_batch = 0;
  int threads = 0;
  bool kv_f32 = false;
  bool mmap = false;
};

void run_perplexity(const PerplexityFlags& f) {
  auto m = model::Model::load(f.model, {.show_progress = false, .load_into_memory = !f.mmap});
  const runtime::MappedFile text_file = runtime::MappedFile::open(f.file);
  const std::string_view text(reinterpret_cast<const char*>(text_file.bytes().data()), text_file.size());

  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<int32_t> tokens = m->tokenizer().encode(text, /*add_special=*/true, /*parse_special=*/false);
  const double t_tok = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "perplexity: %s: %zu bytes -> %zu tokens in %.1f ms\n", f.file.c_str(), text.size(),
               tokens.size(), t_tok * 1e3);

  train::PerplexityOptions o;
  o.n_ctx = f.n_ctx;
  o.n_chunks = f.n_chunks;
  o.n_batch = f.n_batch;
  o.n_threads = f.threads;
  o.kv_type = f.kv_f32 ? model::KvType::kF32 : model::KvType::kF16;
  o.first_token = train::perplexity_first_token(*m);
  if (static_cast<int64_t>(tokens.size()) >= 2 * o.n_ctx) {
    const int64_t n_chunk_max = static_cast<int64_t>(tokens.size()) / o.n_ctx;
    std::fprintf(stderr, "perplexity: calculating perplexity over %lld chunks, n_ctx=%lld, batch_size=%lld\n",
                 static_cast<long long>(o.n_chunks < 0 ? n_chunk_max : std::min(o.n_chunks, n_chunk_max)),
                 static_cast<long long>(o.n_ctx), static_cast<long long>(o.n_batch > 0 ? o.n_batch : o.n_ctx));
  }
  const train::PerplexityResult r = train::perplexity(*m, tokens, o, [](const train::PerplexityChunk& c) {
    if (c.index == 0) std::fprintf(stderr, "perplexity: %.2f seconds per pass\n", c.seconds);
    std::printf("[%lld]%.4f,", static_cast<long long>(c.index + 1), c.running_ppl);
    std::fflush(stdout);
  });
  std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_error);
}

}  // namespace

void register_perplexity(CLI::App& app) {
  auto flags = std::make_shared<PerplexityFlags>();
  auto* cmd = app.add_subcommand("perplexity", "Perplexity of a model on a text file (as llama-perplexity)");
  cmd->add_option("-m,--model", flags->model, "Model file (GGUF)")->required()->check(CLI::ExistingFile);
  cmd->add_option("-f,--file", flags->file, "Text file")->required()->check(CLI::ExistingFile);
  cmd->add_option("-c,--ctx-size", flags->n_ctx, "Tokens per chunk; the second half of each is scored")
      ->capture_default_str();
  cmd->add_option("--chunks", flags->n_chunks, "Chunks to evaluate (default: all)");
  cmd->add_option("-b,--batch-size", flags->n_batch, "Tokens per forward pass (default: a whole chunk)");
  cmd->add_option("-t,--threads", flags->threads, "Threads (default: physical cores)");
  cmd->add_flag("--kv-f32", flags->kv_f32, "Keep the KV cache in F32 rather than F16");
  cmd->add_flag("--mmap", flags->mmap, "Use the weights in place from the mapped file");
  cmd->callback([flags] { run_perplexity(*flags); });
}

}  // namespace trit::cli
