// The hand-written pre-tokenizer regexes and the UTF-8 / byte-map helpers under them.
#include "tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/unicode.h"

namespace trit::tokenizer {
namespace {

using Pieces = std::vector<std::string>;

Pieces split(PreTokenizer kind, std::string_view text) {
  Pieces out;
  for (std::string_view p : pre_tokenize(kind, text)) out.emplace_back(p);
  return out;
}

TEST(PreTokenizer, Gpt2SplitsWordsNumbersPunctuationAndSpaces) {
  EXPECT_EQ(split(PreTokenizer::kGpt2, "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "I've 3 cats!!  \n"), (Pieces{"I", "'ve", " 3", " cats", "!!", "  \n"}));
  // \s+(?!\S): a run of spaces before a word leaves its last space to the word.
  EXPECT_EQ(split(PreTokenizer::kGpt2, "x   y"), (Pieces{"x", "  ", " y"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "x\ty"), (Pieces{"x", "\t", "y"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "I'VE"), (Pieces{"I", "'", "VE"}));  // contractions are case-sensitive
  EXPECT_EQ(split(PreTokenizer::kGpt2, "12345 нещо"), (Pieces{"12345", " нещо"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, ""), (Pieces{}));
}

TEST(PreTokenizer, Llama3KeepsDigitsInThreesAndNewlinesApart) {
  EXPECT_EQ(split(PreTokenizer::kLlama3, "I'VE 12345 apples\n\n  ok"),
            (Pieces{"I", "'VE", " ", "123", "45", " apples", "\n\n", " ", " ok"}));
  // [^\r\n\p{L}\p{N}]?\p{L}+ takes one leading non-letter, punctuation swallows trailing newlines.
  EXPECT_EQ(split(PreTokenizer::kLlama3, "(hello)...\n\nworld"), (Pieces{"(hello", ")...\n\n", "world"}));
  EXPECT_EQ(split(PreTokenizer::kLlama3, "a \n b"), (Pieces{"a", " \n", " b"}));
  EXPECT_EQ(split(PreTokenizer::kLlama3, "   "), (Pieces{"   "}));
}

TEST(PreTokenizer, Qwen2TakesOneDigitAtATime) {
  EXPECT_EQ(split(PreTokenizer::kQwen2, "x12345"), (Pieces{"x", "1", "2", "3", "4", "5"}));
}

TEST(PreTokenizer, MalformedUtf8IsKeptAsPunctuationLikeBytes) {
  const std::string text =
      "a\xFF\xFE"
      "b \xC3";
  const Pieces pieces = split(PreTokenizer::kGpt2, text);
  EXPECT_EQ(pieces, (Pieces{"a", "\xFF\xFE", "b", " \xC3"}));
  std::string joined;
  for (const auto& p : split(PreTokenizer::kLlama3, text)) joined += p;
  EXPECT_EQ(joined, text);
}

TEST(PreTokenizer, NamesMapToTheirRegex) {
  EXPECT_EQ(pre_tokenizer_from_name("llama-bpe"), PreTokenizer::kLlama3);
  EXPECT_EQ(pre_tokenizer_from_name("gpt-2"), PreTokenizer::kGpt2);
  EXPECT_EQ(pre_tokenizer_from_name("qwen2"), PreTokenizer::kQwen2);
  EXPECT_EQ(pre_tokenizer_from_name("tekken"), std::nullopt);
}

TEST(Unicode, DecodeRejectsOverlongSurrogateAndTruncatedSequences) {
  EXPECT_EQ(utf8_decode("\xF0\x9F\xA6\x99", 0).codepoint, 0x1F999u);
  EXPECT_EQ(utf8_decode("\xF0\x9F\xA6\x99", 0).n_bytes, 4u);
  for (std::string_view bad : {"\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x96", "\x80"}) {
    const Utf8Char c = utf8_decode(bad, 0);
    EXPECT_EQ(c.codepoint, kInvalidCodepoint);
    EXPECT_EQ(c.n_bytes, 1u);
  }
  std::string s;
  utf8_append(s, 0x2581);
  EXPECT_EQ(s, "\xE2\x96\x81");
}

TEST(Unicode, ClassesFollowUnicodeCategories) {
  EXPECT_EQ(char_class('a'), CharClass::kLetter);
  EXPECT_EQ(char_class(0x0439), CharClass::kLetter);  // й
  EXPECT_EQ(char_class(0x00BD), CharClass::kNumber);  // ½ (No)
  EXPECT_EQ(char_class(0x3000), CharClass::kWhitespace);
  EXPECT_EQ(char_class(0x200D), CharClass::kOther);  // zero-width joiner
  EXPECT_EQ(char_class(0x1F999), CharClass::kOther);
  EXPECT_EQ(simple_fold('S'), static_cast<uint32_t>('s'));
}

TEST(Unicode, Gpt2ByteMapIsABijection) {
  EXPECT_EQ(byte_to_unicode(' '), "\xC4\xA0");   // Ġ
  EXPECT_EQ(byte_to_unicode('\n'), "\xC4\x8A");  // Ċ
  EXPECT_EQ(byte_to_unicode('a'), "a");
  for (int b = 0; b < 256; ++b) {
    const std::string& text = byte_to_unicode(static_cast<uint8_t>(b));
    EXPECT_EQ(unicode_to_byte(utf8_decode(text, 0).codepoint), b);
  }
  EXPECT_EQ(unicode_to_byte(' '), -1);
}

}  // namespace
}  // namespace trit::tokenizer
