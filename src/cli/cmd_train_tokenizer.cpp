// `trit train-tokenizer`: train a byte-level BPE tokenizer on text files and write it as a Hugging Face
// tokenizer.json (or a vocab-only GGUF, or GPT-2's vocab.json + merges.txt).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "gguf/writer.h"
#include "runtime/error.h"
#include "runtime/mapped_file.h"
#include "train/bpe_trainer.h"

namespace trit::cli {
namespace {

struct TrainTokenizerFlags {
  std::vector<std::string> files;
  std::string output;
  std::string format = "tokenizer-json";
  int32_t vocab_size = 0;
  std::vector<std::string> specials = {"<|endoftext|>"};
  bool no_specials = false;
  int threads = 0;
  bool quiet = false;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) trit::fail("{}: cannot create the file", path);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) trit::fail("{}: writing failed", path);
}

void train_tokenizer(const TrainTokenizerFlags& f) {
  if (f.output.empty()) trit::fail("train-tokenizer needs -o/--output FILE");
  if (f.vocab_size <= 0) trit::fail("train-tokenizer needs --vocab-size N");
  const auto start = std::chrono::steady_clock::now();

  // The files are used in place; no pre-token spans two of them.
  std::vector<runtime::MappedFile> mapped;
  std::vector<std::string_view> texts;
  uint64_t n_bytes = 0;
  for (const std::string& path : f.files) {
    mapped.push_back(runtime::MappedFile::open(path));
    texts.emplace_back(reinterpret_cast<const char*>(mapped.back().bytes().data()), mapped.back().size());
    n_bytes += mapped.back().size();
  }

  train::BpeTrainOptions o;
  o.vocab_size = f.vocab_size;
  if (!f.no_specials) o.special_tokens = f.specials;
  o.n_threads = f.threads;
  o.show_progress = !f.quiet;
  const train::BpeTrainResult r = train::train_bpe(texts, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (f.format == "tokenizer-json") {
    write_file(f.output, train::to_tokenizer_json(r));
  } else if (f.format == "gguf-vocab") {
    gguf::Writer writer(f.output);
    writer.add("general.architecture", gguf::Value(std::string("llama")));
    writer.add("general.name", gguf::Value(std::string("trit-trained-tokenizer")));
    train::to_vocab(r).write_gguf(writer);
    writer.finish();
  } else if (f.format == "gpt2") {
    // -o names a folder prefix: <out>vocab.json and <out>merges.txt
    write_file(f.output + "vocab.json", train::to_vocab_json(r));
    write_file(f.output + "merges.txt", train::to_merges_txt(r));
  } else {
    trit::fail("--format '{}' is not one of tokenizer-json, gguf-vocab, gpt2", f.format);
  }
  if (!f.quiet) {
    std::fprintf(stderr,
                 "trained %zu tokens (%d special, 256 bytes, %zu merges) from %llu bytes, %llu pre-tokens "
                 "(%llu distinct) in %.3f s; wrote %s\n",
                 r.tokens.size(), r.n_special, r.merges.size(), static_cast<unsigned long long>(n_bytes),
                 static_cast<unsigned long long>(r.n_pieces), static_cast<unsigned long long>(r.n_unique_words),
                 seconds, f.output.c_str());
    if (static_cast<int32_t>(r.tokens.size()) < f.vocab_size)
      std::fprintf(stderr, "note: the corpus ran out of pairs before --vocab-size %d\n", f.vocab_size);
  }
}

}  // namespace

void register_train_tokenizer(CLI::App& app) {
  auto flags = std::make_shared<TrainTokenizerFlags>();
  auto* cmd = app.add_subcommand("train-tokenizer", "Train a byte-level BPE tokenizer (GPT-2 pre-tokenizer) on text");
  cmd->add_option("-f,--file", flags->files, "Training text (repeat for several files)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--vocab-size", flags->vocab_size, "Vocabulary size: special tokens + 256 bytes + merges")
      ->required();
  cmd->add_option("--special", flags->specials,
                  "Special token, split out of the text and never merged (repeatable; ids 0.. in order)")
      ->capture_default_str();
  cmd->add_flag("--no-special", flags->no_specials, "No special tokens at all");
  cmd->add_option("-o,--output", flags->output, "Output file")->required();
  cmd->add_option("--format", flags->format,
                  "tokenizer-json (Hugging Face), gguf-vocab (tokenizer-only GGUF), gpt2 (-o prefix + vocab.json, "
                  "merges.txt)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", flags->threads, "Pre-tokenisation threads (default: all)");
  cmd->add_flag("-q,--quiet", flags->quiet, "No progress or summary on stderr");
  cmd->callback([flags] { train_tokenizer(*flags); });
}

}  // namespace trit::cli
