// StreamDecoder: characters split across byte tokens come out whole, never as broken UTF-8.
#include <gtest/gtest.h>

#include "tokenizer/tokenizer_test_util.h"
#include "tokenizer/unicode.h"

namespace trit::tokenizer {
namespace {

// Whether text is entirely valid UTF-8.
bool is_valid_utf8(const std::string& text) {
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = utf8_decode(text, pos);
    if (c.codepoint == kInvalidCodepoint) return false;
    pos += c.n_bytes;
  }
  return true;
}

// Pushes ids one at a time; every chunk must be whole UTF-8; returns the concatenation.
std::string stream(const Tokenizer& tok, const std::vector<int32_t>& ids, bool remove_leading_space,
                   std::vector<std::string>* chunks = nullptr) {
  StreamDecoder decoder(tok, false, remove_leading_space);
  std::string text;
  for (int32_t id : ids) {
    const std::string chunk = decoder.push(id);
    EXPECT_TRUE(is_valid_utf8(chunk)) << "chunk after id " << id;
    if (chunks) chunks->push_back(chunk);
    text += chunk;
  }
  text += decoder.flush();
  return text;
}

TEST(StreamDecoder, EmojiSplitAcrossSentencePieceByteTokensComesOutWhole) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = testing::shared_tokenizer("llama-spm");
  const std::string text = "this is 🦙.cpp 😁";
  const auto ids = tok.encode(text, true, false);
  // 🦙 is not in the LLaMA vocabulary: it must take four <0xXX> byte tokens.
  ASSERT_NE(std::find(ids.begin(), ids.end(), tok.find_token("<0xF0>")), ids.end());
  std::vector<std::string> chunks;
  EXPECT_EQ(stream(tok, ids, true, &chunks), text);
  EXPECT_NE(std::find(chunks.begin(), chunks.end(), "🦙"), chunks.end()) << "the emoji came out in one chunk";
}

TEST(StreamDecoder, EmojiSplitAcrossByteLevelTokensComesOutWhole) {
  TRIT_REQUIRE_SHARED_DATA();
  for (const char* name : {"gpt-2", "llama-bpe"}) {
    const Tokenizer& tok = testing::shared_tokenizer(name);
    const std::string text = "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙 Cửa Việt";
    const auto ids = tok.encode(text, false, false);
    EXPECT_EQ(stream(tok, ids, false), text) << name;
    // One token at a time, token_to_piece alone would give broken UTF-8 for some of these tokens.
    bool some_piece_is_partial = false;
    for (int32_t id : ids) some_piece_is_partial |= !is_valid_utf8(tok.token_to_piece(id, false));
    EXPECT_TRUE(some_piece_is_partial) << name << ": the test text should split a character across tokens";
  }
}

TEST(StreamDecoder, KeepsOrDropsTheSentencePiecePrefixSpaceAsAsked) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = testing::shared_tokenizer("llama-spm");
  const auto ids = tok.encode("Hello world", false, false);
  EXPECT_EQ(stream(tok, ids, true), "Hello world");
  EXPECT_EQ(stream(tok, ids, false), " Hello world");  // a continuation keeps its space
}

TEST(StreamDecoder, InvalidAndUnfinishedBytesBecomeReplacementCharacters) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = testing::shared_tokenizer("llama-spm");
  const int32_t f0 = tok.find_token("<0xF0>"), x9f = tok.find_token("<0x9F>"), ff = tok.find_token("<0xFF>");
  const int32_t a = tok.find_token("a");
  ASSERT_GE(f0, 0);
  StreamDecoder d(tok);
  EXPECT_EQ(d.push(f0), "");
  EXPECT_EQ(d.push(x9f), "");
  EXPECT_EQ(d.push(a),
            "\xEF\xBF\xBD"
            "a");                         // the lead bytes were cut short by a plain character
  EXPECT_EQ(d.push(ff), "\xEF\xBF\xBD");  // 0xFF never starts a character
  EXPECT_EQ(d.push(f0), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");  // unfinished at the end
  EXPECT_EQ(d.flush(), "");
}

TEST(StreamDecoder, ControlTokensRenderOnlyWhenAsked) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& tok = testing::shared_tokenizer("llama-bpe");
  StreamDecoder plain(tok);
  EXPECT_EQ(plain.push(128009), "");
  StreamDecoder special(tok, true);
  EXPECT_EQ(special.push(128009), "<|eot_id|>");
}

}  // namespace
}  // namespace trit::tokenizer
