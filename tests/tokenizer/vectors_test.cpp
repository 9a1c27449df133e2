// Reproduces llama.cpp's tokenizer test vectors (and the Qwen3 / Gemma 3 ones made with transformers.js):
// encode without BOS/EOS and without special-token parsing, as test-tokenizer-0 does.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tokenizer/tokenizer_test_util.h"

namespace trit::tokenizer {
namespace {

using testing::read_vectors;
using testing::shared_tokenizer;

struct VectorSet {
  const char* tokenizer;  // shared_tokenizer name
  const char* file;       // under tokenizers/vectors, without .inp/.out
  bool lossless;          // decode(encode(x)) == x for every input
};

void PrintTo(const VectorSet& v, std::ostream* os) { *os << v.tokenizer; }

class Vectors : public ::testing::TestWithParam<VectorSet> {};

std::string show(const std::vector<int32_t>& ids) { return fmt::format("{}", fmt::join(ids, " ")); }

TEST_P(Vectors, EncodeMatchesReferenceIds) {
  TRIT_REQUIRE_SHARED_DATA();
  const VectorSet& set = GetParam();
  const auto dir = ::trit::testing::shared_data_dir() / "tokenizers/vectors";
  const auto cases = read_vectors(dir / (std::string(set.file) + ".inp"), dir / (std::string(set.file) + ".out"));
  const Tokenizer& tok = shared_tokenizer(set.tokenizer);
  size_t passed = 0;
  for (const auto& c : cases) {
    const auto ids = tok.encode(c.input, /*add_special=*/false, /*parse_special=*/false);
    if (ids == c.expected)
      ++passed;
    else
      ADD_FAILURE() << set.tokenizer << ": input '" << c.input << "'\n  got      " << show(ids) << "\n  expected "
                    << show(c.expected);
  }
  std::cout << "[          ] " << set.tokenizer << ": " << passed << "/" << cases.size() << " vectors\n";
  EXPECT_EQ(passed, cases.size());
}

TEST_P(Vectors, DecodeOfEncodeGivesTheInputBack) {
  TRIT_REQUIRE_SHARED_DATA();
  const VectorSet& set = GetParam();
  if (!set.lossless) GTEST_SKIP() << set.tokenizer << " normalises its input";
  const auto dir = ::trit::testing::shared_data_dir() / "tokenizers/vectors";
  const auto cases = read_vectors(dir / (std::string(set.file) + ".inp"), dir / (std::string(set.file) + ".out"));
  const Tokenizer& tok = shared_tokenizer(set.tokenizer);
  for (const auto& c : cases) {
    EXPECT_EQ(tok.decode(tok.encode(c.input, false, false)), c.input);
    EXPECT_EQ(tok.decode(tok.encode(c.input, true, false)), c.input) << "with BOS";
    EXPECT_EQ(tok.decode(c.expected), c.input) << "reference ids";
  }
}

std::string set_name(const ::testing::TestParamInfo<VectorSet>& info) {
  std::string name = info.param.tokenizer;
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

// llama.cpp's vocab files, and LLaMA-3 from its tokenizer.json (its .gguf is not in the shared data).
INSTANTIATE_TEST_SUITE_P(LlamaCpp, Vectors,
                         ::testing::Values(VectorSet{"llama-spm", "ggml-vocab-llama-spm.gguf", true},
                                           VectorSet{"gpt-2", "ggml-vocab-gpt-2.gguf", true},
                                           VectorSet{"phi-3", "ggml-vocab-phi-3.gguf", true},
                                           VectorSet{"llama-bpe", "ggml-vocab-llama-bpe.gguf", true}),
                         set_name);

// The same vocabularies built by the converter's importers from the original tokenizer files.
INSTANTIATE_TEST_SUITE_P(Imported, Vectors,
                         ::testing::Values(VectorSet{"llama-spm-json", "ggml-vocab-llama-spm.gguf", true},
                                           VectorSet{"llama-spm-model", "ggml-vocab-llama-spm.gguf", true},
                                           VectorSet{"llama-bpe-tiktoken", "ggml-vocab-llama-bpe.gguf", true}),
                         set_name);

// The tokenizers of the BitNet embedding models (reference ids from transformers.js).
INSTANTIATE_TEST_SUITE_P(HuggingFace, Vectors,
                         ::testing::Values(VectorSet{"qwen3", "qwen3", true}, VectorSet{"gemma3", "gemma3", true}),
                         set_name);

}  // namespace
}  // namespace trit::tokenizer
