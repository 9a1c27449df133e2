// The converter's vocabulary builders: tokenizer.json, SentencePiece tokenizer.model and tiktoken
// files give the same vocabularies as llama.cpp's GGUF files and as each other.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "runtime/error.h"
#include "tokenizer/tokenizer_test_util.h"

namespace trit::tokenizer {
namespace {

using testing::read_file;
using testing::shared_tokenizer;

void expect_error_mentioning(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Importers, TiktokenGivesTheSameTokensAndMergesAsTokenizerJson) {
  TRIT_REQUIRE_SHARED_DATA();
  const Vocab& json = shared_tokenizer("llama-bpe").vocab();
  const Vocab& tiktoken = shared_tokenizer("llama-bpe-tiktoken").vocab();
  ASSERT_EQ(json.tokens.size(), 128256u);
  EXPECT_EQ(tiktoken.tokens, json.tokens);  // 128000 ranked tokens and the 256 specials
  EXPECT_EQ(tiktoken.types, json.types);
  EXPECT_EQ(tiktoken.merges.size(), json.merges.size());
  EXPECT_EQ(tiktoken.merges, json.merges);
  EXPECT_EQ(tiktoken.model, "gpt2");
  EXPECT_EQ(tiktoken.pre, "llama-bpe");
  EXPECT_EQ(tiktoken.bos_id, json.bos_id);
  EXPECT_EQ(tiktoken.eos_id, json.eos_id);
}

TEST(Importers, Llama3TokenizerJsonSettings) {
  TRIT_REQUIRE_SHARED_DATA();
  const Vocab& v = shared_tokenizer("llama-bpe").vocab();
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "llama-bpe");
  EXPECT_EQ(v.bos_id, 128000);
  EXPECT_EQ(v.eos_id, 128001);
  EXPECT_EQ(v.eot_id, 128009);
  EXPECT_EQ(v.type(128000), TokenType::kControl);
  EXPECT_EQ(v.type(1502), TokenType::kNormal);
  ASSERT_TRUE(v.chat_template.has_value());
  EXPECT_NE(v.chat_template->find("<|start_header_id|>"), std::string::npos);
}

TEST(Importers, SentencePieceModelMatchesTheGgufVocab) {
  TRIT_REQUIRE_SHARED_DATA();
  const Vocab& gguf = shared_tokenizer("llama-spm").vocab();
  const Vocab& spm = shared_tokenizer("llama-spm-model").vocab();
  EXPECT_EQ(spm.model, "llama");
  EXPECT_EQ(spm.tokens, gguf.tokens);
  EXPECT_EQ(spm.scores, gguf.scores);
  EXPECT_EQ(spm.types, gguf.types);
  EXPECT_EQ(spm.bos_id, gguf.bos_id);
  EXPECT_EQ(spm.eos_id, gguf.eos_id);
  EXPECT_EQ(spm.unk_id, gguf.unk_id);
  EXPECT_EQ(spm.add_space_prefix, std::optional<bool>(true));
}

TEST(Importers, SentencePieceStyleTokenizerJsonMatchesTheGgufTokens) {
  TRIT_REQUIRE_SHARED_DATA();
  const Vocab& gguf = shared_tokenizer("llama-spm").vocab();
  const Vocab& json = shared_tokenizer("llama-spm-json").vocab();
  EXPECT_EQ(json.model, "llama");
  ASSERT_EQ(json.tokens.size(), 32002u);  // + <pad>, </line>
  EXPECT_EQ(std::vector<std::string>(json.tokens.begin(), json.tokens.begin() + 32000), gguf.tokens);
  EXPECT_EQ(std::vector<TokenType>(json.types.begin(), json.types.begin() + 32000), gguf.types);
  EXPECT_EQ(json.add_space_prefix, std::optional<bool>(true));
  EXPECT_EQ(json.add_bos, std::optional<bool>(true));
  EXPECT_EQ(json.bos_id, 1);
  EXPECT_EQ(json.eos_id, 2);
  EXPECT_EQ(json.unk_id, 0);
}

TEST(Importers, Qwen3AndGemma3Settings) {
  TRIT_REQUIRE_SHARED_DATA();
  const Vocab& qwen = shared_tokenizer("qwen3").vocab();
  EXPECT_EQ(qwen.model, "gpt2");
  EXPECT_EQ(qwen.pre, "qwen2");
  EXPECT_EQ(qwen.tokens.size(), 151669u);
  EXPECT_EQ(qwen.bos_id, -1);
  EXPECT_EQ(qwen.tokens[qwen.eos_id], "<|im_end|>");
  EXPECT_EQ(qwen.add_bos, std::optional<bool>(false));
  const Vocab& gemma = shared_tokenizer("gemma3").vocab();
  EXPECT_EQ(gemma.model, "llama");
  EXPECT_EQ(gemma.add_space_prefix, std::optional<bool>(false));
  EXPECT_EQ(gemma.tokens[gemma.bos_id], "<bos>");
  EXPECT_EQ(gemma.type(shared_tokenizer("gemma3").find_token("<0x0A>")), TokenType::kByte);
}

TEST(Importers, MalformedInputFailsClearly) {
  expect_error_mentioning([] { Vocab::from_tokenizer_json("{not json"); }, "not valid JSON");
  expect_error_mentioning([] { Vocab::from_tokenizer_json(R"({"model": {"type": "Unigram", "vocab": []}})"); },
                          "'Unigram'");
  expect_error_mentioning(
      [] {
        Vocab::from_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{N}+"}}, {"type": "ByteLevel", "use_regex": false}]}})");
      },
      "\\p{N}+");
  expect_error_mentioning([] { Vocab::from_tiktoken("/nonexistent/tokenizer.model"); }, "/nonexistent");
  expect_error_mentioning([] { Vocab::from_sentencepiece_model("/nonexistent/tokenizer.model"); }, "/nonexistent");

  const auto dir = ::trit::testing::make_temp_dir("trit-importers");
  const auto bad_tiktoken = dir / "bad.tiktoken";
  std::ofstream(bad_tiktoken) << "IQ== 0\nIg== 5\n";
  expect_error_mentioning([&] { Vocab::from_tiktoken(bad_tiktoken.string()); }, "bad.tiktoken:2");
  // A protobuf whose first field claims 100 bytes that are not there.
  const auto bad_model = dir / "bad.model";
  std::ofstream(bad_model, std::ios::binary) << std::string("\x0a\x64\x0a\x01", 4);
  expect_error_mentioning([&] { Vocab::from_sentencepiece_model(bad_model.string()); }, "bad.model");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trit::tokenizer
