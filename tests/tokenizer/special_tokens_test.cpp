// Special tokens: parsing them out of text, BOS/EOS, end-of-generation ids, lookups.
#include <gtest/gtest.h>

#include "tokenizer/tokenizer_test_util.h"

namespace trit::tokenizer {
namespace {

using Ids = std::vector<int32_t>;

TEST(SpecialTokens, Llama3ChatPromptFromTheReadme) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = testing::shared_tokenizer("llama-bpe");
  const std::string prompt = "<|begin_of_text|>User: How are you?<|eot_id|>Assistant: ";
  EXPECT_EQ(tok.encode(prompt, false, true), (Ids{128000, 1502, 25, 2650, 527, 499, 30, 128009, 72803, 25, 220}));
  // The tiktoken-built vocabulary agrees.
  EXPECT_EQ(testing::shared_tokenizer("llama-bpe-tiktoken").encode(prompt, false, true),
            (Ids{128000, 1502, 25, 2650, 527, 499, 30, 128009, 72803, 25, 220}));
}

TEST(SpecialTokens, WithoutParseSpecialControlTextStaysText) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = testing::shared_tokenizer("llama-bpe");
  const auto ids = tok.encode("<|eot_id|>", false, false);
  EXPECT_EQ(std::find(ids.begin(), ids.end(), 128009), ids.end());
  EXPECT_GT(ids.size(), 1u);
  EXPECT_EQ(tok.decode(ids), "<|eot_id|>");
}

TEST(SpecialTokens, AddSpecialAddsBosAsTheVocabularyAsks) {
  TRIT_REQUIRE_SHARED_DATA();
  EXPECT_EQ(testing::shared_tokenizer("llama-bpe").encode("Hi", true, false).front(), 128000);
  EXPECT_EQ(testing::shared_tokenizer("llama-spm").encode("Hi", true, false), (Ids{1, 6324}));
  EXPECT_EQ(testing::shared_tokenizer("gpt-2").encode("Hi", true, false), (Ids{17250}));  // GPT-2 adds none
  EXPECT_EQ(testing::shared_tokenizer("llama-spm").encode("", true, false), (Ids{1}));
  EXPECT_EQ(testing::shared_tokenizer("llama-spm").encode("", false, false), (Ids{}));
}

TEST(SpecialTokens, SentencePieceAddsThePrefixSpaceAfterEachSpecialToken) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = testing::shared_tokenizer("llama-spm");
  const Ids hello = tok.encode("Hello", false, false);
  Ids expected = {1};
  expected.insert(expected.end(), hello.begin(), hello.end());
  expected.push_back(2);
  expected.insert(expected.end(), hello.begin(), hello.end());
  EXPECT_EQ(tok.encode("<s>Hello</s>Hello", false, true), expected);
}

TEST(SpecialTokens, UserDefinedTokensSplitEvenWithoutParseSpecial) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = testing::shared_tokenizer("phi-3");
  const int32_t user = tok.find_token("</s>");  // Phi-3 marks it user-defined
  ASSERT_GE(user, 0);
  ASSERT_EQ(tok.vocab().type(user), TokenType::kUserDefined);
  const auto ids = tok.encode("</s>", false, false);
  EXPECT_EQ(ids, (Ids{user}));
  EXPECT_EQ(tok.decode(ids), "</s>");
}

TEST(SpecialTokens, EndOfGenerationIds) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& llama3 = testing::shared_tokenizer("llama-bpe");
  EXPECT_TRUE(llama3.is_eog(128001));   // <|end_of_text|>
  EXPECT_TRUE(llama3.is_eog(128009));   // <|eot_id|>
  EXPECT_FALSE(llama3.is_eog(128000));  // <|begin_of_text|>
  EXPECT_FALSE(llama3.is_eog(1502));
  const Tokenizer& phi3 = testing::shared_tokenizer("phi-3");
  EXPECT_TRUE(phi3.is_eog(phi3.find_token("<|end|>")));
  EXPECT_TRUE(phi3.is_eog(phi3.eos()));
  EXPECT_TRUE(testing::shared_tokenizer("qwen3").is_eog(testing::shared_tokenizer("qwen3").find_token("<|im_end|>")));
}

TEST(SpecialTokens, FindTokenAndRenderSpecial) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = testing::shared_tokenizer("llama-bpe");
  EXPECT_EQ(tok.find_token("<|eot_id|>"), 128009);
  EXPECT_EQ(tok.find_token("no such token"), -1);
  EXPECT_EQ(tok.bos(), 128000);
  EXPECT_EQ(tok.eos(), 128001);
  const Ids ids = {128000, 9906};
  EXPECT_EQ(tok.decode(ids), "Hello");
  EXPECT_EQ(tok.decode(ids, true), "<|begin_of_text|>Hello");
}

}  // namespace
}  // namespace trit::tokenizer
