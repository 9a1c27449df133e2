// `trit gen-dummy`: write a model with random ternary weights, in any supported type and shape.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "cli/commands.h"
#include "gguf/ggml_type.h"
#include "gguf/reader.h"
#include "model/dummy.h"
#include "runtime/error.h"
#include "tensor/codec.h"

namespace trit::cli {
namespace {

struct GenDummyFlags {
  std::string shape = "125M";
  std::string type = "i2_s";
  std::string output;
  std::string vocab;
  uint64_t seed = 42;
  bool list = false;
  bool quiet = false;
};

uint32_t parse_type(const std::string& name) {
  std::string known;
  for (uint32_t id = 0; id < 64; ++id) {
    if (!tensor::is_encodable(id)) continue;
    if (gguf::type_name(id) == name) return id;
    known += (known.empty() ? "" : ", ") + gguf::type_name(id);
  }
  trit::fail("--type '{}' is not a type trit can write (known: {})", name, known);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) trit::fail("{}: cannot read the file", path);
  return {std::istreambuf_iterator<char>(in), {}};
}

tokenizer::Vocab load_vocab(const std::string& path) {
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  if (ends_with(".gguf")) return tokenizer::Vocab::from_gguf(gguf::Reader::open(path));
  if (ends_with(".json")) {
    // tokenizer_config.json beside it supplies BOS/EOS and the chat template.
    const auto config = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
    return tokenizer::Vocab::from_tokenizer_json(read_text(path),
                                                 std::filesystem::exists(config) ? read_text(config.string()) : "");
  }
  if (ends_with(".tiktoken")) return tokenizer::Vocab::from_tiktoken(path);
  if (ends_with(".model")) return tokenizer::Vocab::from_sentencepiece_model(path);
  trit::fail("{}: --vocab must be a .gguf, tokenizer.json, tokenizer.model or .tiktoken file", path);
}

void gen_dummy(const GenDummyFlags& f) {
  if (f.list) {
    std::printf("%-17s %-13s %7s %7s %6s %6s %6s %8s\n", "shape", "arch", "n_embd", "n_ff", "layers", "heads", "kv",
                "vocab");
    for (const auto& s : model::dummy_shapes())
      std::printf("%-17s %-13s %7lld %7lld %6lld %6lld %6lld %8lld\n", s.name.c_str(), s.arch.c_str(),
                  static_cast<long long>(s.n_embd), static_cast<long long>(s.n_ff), static_cast<long long>(s.n_layer),
                  static_cast<long long>(s.n_head), static_cast<long long>(s.n_head_kv),
                  static_cast<long long>(s.n_vocab));
    return;
  }
  if (f.output.empty()) trit::fail("gen-dummy needs -o/--output FILE (or --list-shapes)");
  model::DummyOptions o;
  o.path = f.output;
  o.shape = model::find_dummy_shape(f.shape);
  o.type_id = parse_type(f.type);
  o.seed = f.seed;
  o.show_progress = !f.quiet;
  if (!f.vocab.empty()) o.vocab = load_vocab(f.vocab);
  model::write_dummy_model(o);
  if (!f.quiet)
    std::fprintf(stderr, "wrote %s (shape %s, %s, random weights)\n", f.output.c_str(), f.shape.c_str(),
                 f.type.c_str());
}

}  // namespace

void register_gen_dummy(CLI::App& app) {
  auto flags = std::make_shared<GenDummyFlags>();
  auto* cmd = app.add_subcommand("gen-dummy", "Write a model with random ternary weights (for tests and benchmarks)");
  cmd->add_option("-o,--output", flags->output, "Output file (GGUF)");
  cmd->add_option("--shape", flags->shape, "Model shape (see --list-shapes)")->capture_default_str();
  cmd->add_option("--type", flags->type, "Weight type: i2_s, tl1, tl2, tq1_0, tq2_0, f16, bf16, f32, q8_0")
      ->capture_default_str();
  cmd->add_option("--vocab", flags->vocab,
                  "Tokenizer to embed: a .gguf, tokenizer.json, tokenizer.model or .tiktoken file "
                  "(default: a synthetic byte-fallback vocabulary)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--seed", flags->seed, "Random seed")->capture_default_str();
  cmd->add_flag("--list-shapes", flags->list, "List the shapes and exit");
  cmd->add_flag("-q,--quiet", flags->quiet, "No progress bar");
  cmd->callback([flags] { gen_dummy(*flags); });
}

}  // namespace trit::cli
