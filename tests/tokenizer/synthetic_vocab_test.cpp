// Both tokenizers on small hand-made vocabularies (no shared data needed): merge order, byte
// fallback, and lossless round trips of arbitrary bytes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace trit::tokenizer {
namespace {

using Ids = std::vector<int32_t>;
constexpr const char* kMark = "\xE2\x96\x81";  // U+2581

// <unk> <s> </s>, the 256 byte tokens (ids 3..258), then the given pieces with their scores.
Vocab spm_vocab(const std::vector<std::pair<std::string, float>>& pieces) {
  Vocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(fmt::format("<0x{:02X}>", b));
    v.types.push_back(TokenType::kByte);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  for (const auto& [text, score] : pieces) {
    v.tokens.push_back(text);
    v.types.push_back(TokenType::kNormal);
    v.scores.push_back(score);
  }
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  return v;
}

// The 256 byte characters (id = byte), then the merged tokens in merge order.
Vocab bpe_vocab(const std::vector<std::string>& merges) {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_to_unicode(static_cast<uint8_t>(b)));
  for (const std::string& m : merges) {
    v.merges.push_back(m);
    std::string joined = m;
    joined.erase(joined.find(' '), 1);
    v.tokens.push_back(joined);
  }
  v.tokens.push_back("<|endoftext|>");
  v.types.assign(v.tokens.size(), TokenType::kNormal);
  v.types.back() = TokenType::kControl;
  v.eos_id = v.n_tokens() - 1;
  return v;
}

std::string random_bytes(std::mt19937& rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::uniform_int_distribution<int> byte(0, 255), ascii(0, 3);
  std::string s(len(rng), '\0');
  for (char& c : s) c = static_cast<char>(ascii(rng) == 0 ? byte(rng) : "ab \n"[byte(rng) % 4]);
  return s;
}

TEST(SyntheticSpm, MergesHighestScoringPairFirstAndFallsBackToBytes) {
  const std::string m = kMark;
  // ids: 259 ▁, 260 a, 261 b, 262 ▁a, 263 ab, 264 ▁ab
  const auto tok = Tokenizer::create(
      spm_vocab({{m, -1.0f}, {"a", -2.0f}, {"b", -3.0f}, {m + "a", -4.0f}, {"ab", -0.5f}, {m + "ab", -0.1f}}));
  // "▁ab": "ab" (-0.5) beats "▁a" (-4), then "▁" + "ab" -> "▁ab".
  EXPECT_EQ(tok->encode("ab", false, false), (Ids{264}));
  EXPECT_EQ(tok->encode("ab a", true, false), (Ids{1, 264, 262}));
  // "é" is no piece: its two UTF-8 bytes come as <0xC3> <0xA9>.
  EXPECT_EQ(tok->encode("é", false, false), (Ids{259, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok->decode(tok->encode("é ab", true, false)), "é ab");
  EXPECT_EQ(tok->token_to_piece(264, false), " ab");
  EXPECT_EQ(tok->token_to_piece(3 + '\n', false), "\n");
  EXPECT_EQ(tok->token_to_piece(1, false), "");
  EXPECT_EQ(tok->token_to_piece(1, true), "<s>");
}

TEST(SyntheticSpm, ArbitraryBytesRoundTrip) {
  const auto tok = Tokenizer::create(spm_vocab({{kMark, -1.0f}, {"a", -2.0f}, {"b", -3.0f}}));
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    const std::string s = random_bytes(rng, 40);
    EXPECT_EQ(tok->decode(tok->encode(s, true, true)), s);
  }
}

TEST(SyntheticBpe, AppliesMergesByRank) {
  // 256 "a b", 257 "Ġ ab", 258 "ab c", 259 <|endoftext|>
  const auto tok = Tokenizer::create(bpe_vocab({"a b", "\xC4\xA0 ab", "ab c"}));
  EXPECT_EQ(tok->encode("abc", false, false), (Ids{258}));
  // " abc": "a b" first (rank 0), then "Ġ ab" (rank 1) wins over "ab c" (rank 2).
  EXPECT_EQ(tok->encode(" abc", false, false), (Ids{257, 'c'}));
  EXPECT_EQ(tok->encode("<|endoftext|>", false, true), (Ids{259}));
  EXPECT_EQ(tok->encode("<|endoftext|>", false, false).size(), 13u);  // one byte token each: no merges apply
  EXPECT_TRUE(tok->is_eog(259));
  EXPECT_EQ(tok->token_to_piece(257, false), " ab");
}

TEST(SyntheticBpe, ArbitraryBytesRoundTrip) {
  const auto tok = Tokenizer::create(bpe_vocab({"a b", "\xC4\xA0 ab", "\xC4\xA0 \xC4\xA0"}));
  std::mt19937 rng(11);
  for (int i = 0; i < 300; ++i) {
    const std::string s = random_bytes(rng, 40);
    EXPECT_EQ(tok->decode(tok->encode(s, false, false)), s);
  }
}

}  // namespace
}  // namespace trit::tokenizer
