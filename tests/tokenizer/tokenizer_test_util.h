// Helpers for the tokenizer tests: loading the shared vocabularies (cached per process) and the
// llama.cpp-style test vectors. Inline, as the test build globs only *_test.cpp files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "support/test_data.h"
#include "tokenizer/tokenizer.h"

namespace trit::tokenizer::testing {

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct VectorCase {
  std::string input;
  std::vector<int32_t> expected;
};

// Inputs from `inp` split as llama.cpp's test-tokenizer-0 does: on "\n__ggml_vocab_test__\n", nothing
// else stripped, no empty input after the last separator unless `out` has a line for it; expected
// ids from `out`, one line of space-separated ids per input.
inline std::vector<VectorCase> read_vectors(const std::filesystem::path& inp, const std::filesystem::path& out) {
  const std::string raw = read_file(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  size_t pos = 0;
  while (true) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(raw.substr(pos));
      break;
    }
    inputs.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<std::vector<int32_t>> outputs;
  std::istringstream lines(read_file(out));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream ids(line);
    std::vector<int32_t> v;
    for (int32_t id; ids >> id;) v.push_back(id);
    outputs.push_back(std::move(v));
  }
  // llama.cpp's loop stops at the end of the text, so a trailing separator adds no empty input;
  // generated .out files may still carry a line for it.
  if (inputs.size() == outputs.size() + 1 && inputs.back().empty()) inputs.pop_back();
  if (inputs.size() != outputs.size())
    throw std::runtime_error(inp.string() + ": " + std::to_string(inputs.size()) + " inputs but " +
                             std::to_string(outputs.size()) + " expected lines");
  std::vector<VectorCase> cases;
  for (size_t i = 0; i < inputs.size(); ++i) cases.push_back({inputs[i], outputs[i]});
  return cases;
}

inline Vocab load_shared_vocab(const std::string& name) {
  const auto dir = ::trit::testing::shared_data_dir() / "tokenizers";
  if (name == "llama-spm" || name == "gpt-2" || name == "phi-3") {
    auto reader = gguf::Reader::open((dir / "vectors" / ("ggml-vocab-" + name + ".gguf")).string());
    return Vocab::from_gguf(reader);
  }
  if (name == "llama-bpe")
    return Vocab::from_tokenizer_json(read_file(dir / "llama3/tokenizer.json"),
                                      read_file(dir / "llama3/tokenizer_config.json"));
  if (name == "llama-bpe-tiktoken") return Vocab::from_tiktoken((dir / "llama3/tokenizer.model.tiktoken").string());
  if (name == "llama-spm-json") return Vocab::from_tokenizer_json(read_file(dir / "llama-spm/tokenizer.1bitllm.json"));
  if (name == "llama-spm-model") return Vocab::from_sentencepiece_model((dir / "llama-spm/tokenizer.model").string());
  if (name == "qwen3" || name == "gemma3")
    return Vocab::from_tokenizer_json(read_file(dir / name / "tokenizer.json"),
                                      read_file(dir / name / "tokenizer_config.json"));
  throw std::runtime_error("unknown shared tokenizer " + name);
}

// The tokenizers of the shared data, by name, built once per process.
inline const Tokenizer& shared_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) slot = Tokenizer::create(load_shared_vocab(name));
  return *slot;
}

}  // namespace trit::tokenizer::testing
