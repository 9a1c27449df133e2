// The GPT-2, LLaMA-3 and Qwen2 pre-tokenizer regexes as hand-written matchers over decoded characters.
#include "tokenizer/pretokenizer.h"

#include <array>
#include <cstdint>
#include <string>

#include "tokenizer/unicode.h"

namespace trit::tokenizer {

std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kGpt2Names = {"default", "gpt-2",       "gpt2", "phi-2",
                                                                 "mpt",     "roberta-bpe", "olmo", "jais"};
  static constexpr std::array<std::string_view, 6> kLlama3Names = {"llama3", "llama-v3",  "llama-bpe",
                                                                   "dbrx",   "smaug-bpe", "falcon3"};
  static constexpr std::array<std::string_view, 4> kQwen2Names = {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"};
  for (auto n : kGpt2Names)
    if (n == name) return PreTokenizer::kGpt2;
  for (auto n : kLlama3Names)
    if (n == name) return PreTokenizer::kLlama3;
  for (auto n : kQwen2Names)
    if (n == name) return PreTokenizer::kQwen2;
  return std::nullopt;
}

namespace {

struct Char {
  uint32_t codepoint;
  CharClass cls;
  uint32_t offset;  // byte offset in the text
};

// The decoded text with bounds-checked accessors: past the end a character is "none of the classes".
class Chars {
 public:
  explicit Chars(std::string_view text) {
    chars_.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      const Utf8Char c = utf8_decode(text, pos);
      chars_.push_back({c.codepoint, char_class(c.codepoint), static_cast<uint32_t>(pos)});
      pos += c.n_bytes;
    }
    end_offset_ = static_cast<uint32_t>(text.size());
  }
  size_t size() const { return chars_.size(); }
  uint32_t cp(size_t i) const { return i < chars_.size() ? chars_[i].codepoint : kInvalidCodepoint + 1; }
  bool is(size_t i, CharClass cls) const { return i < chars_.size() && chars_[i].cls == cls; }
  bool is_rn(size_t i) const { return cp(i) == '\r' || cp(i) == '\n'; }
  uint32_t offset(size_t i) const { return i < chars_.size() ? chars_[i].offset : end_offset_; }

 private:
  std::vector<Char> chars_;
  uint32_t end_offset_ = 0;
};

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive: the match length in characters, or 0.
size_t match_contraction(const Chars& c, size_t i, bool ignore_case) {
  if (c.cp(i) != '\'') return 0;
  auto low = [&](size_t k) { return ignore_case ? simple_fold(c.cp(k)) : c.cp(k); };
  const uint32_t a = low(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  const uint32_t b = low(i + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// Length of the run of `cls` characters starting at i.
size_t run_length(const Chars& c, size_t i, CharClass cls) {
  size_t k = i;
  while (c.is(k, cls)) ++k;
  return k - i;
}

// \s+(?!\S)|\s+ at i (a whitespace character): the whole run when it ends the text or is a single
// character, else all but the last character (which then starts the next piece).
size_t match_trailing_whitespace(const Chars& c, size_t i) {
  const size_t n = run_length(c, i, CharClass::kWhitespace);
  return (n > 1 && i + n < c.size()) ? n - 1 : n;
}

size_t match_gpt2(const Chars& c, size_t i) {
  if (size_t n = match_contraction(c, i, false)) return n;
  const size_t j = i + (c.cp(i) == ' ' ? 1 : 0);
  for (CharClass cls : {CharClass::kLetter, CharClass::kNumber, CharClass::kOther}) {
    // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+"
    if (c.is(j, cls)) return j - i + run_length(c, j, cls);
  }
  return match_trailing_whitespace(c, i);
}

size_t match_llama3(const Chars& c, size_t i, size_t max_digits) {
  if (size_t n = match_contraction(c, i, true)) return n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c.is(i, CharClass::kLetter)) return run_length(c, i, CharClass::kLetter);
  if (!c.is_rn(i) && !c.is(i, CharClass::kNumber) && c.is(i + 1, CharClass::kLetter)) {
    return 1 + run_length(c, i + 1, CharClass::kLetter);
  }
  // \p{N}{1,3} (LLaMA-3) or \p{N} (Qwen2)
  if (c.is(i, CharClass::kNumber)) {
    const size_t n = run_length(c, i, CharClass::kNumber);
    return n < max_digits ? n : max_digits;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  const size_t j = i + (c.cp(i) == ' ' ? 1 : 0);
  if (c.is(j, CharClass::kOther)) {
    size_t k = j + run_length(c, j, CharClass::kOther);
    while (c.is_rn(k)) ++k;
    return k - i;
  }
  // \s*[\r\n]+ : up to the last \r or \n of the whitespace run.
  const size_t n = run_length(c, i, CharClass::kWhitespace);
  for (size_t k = i + n; k > i; --k) {
    if (c.is_rn(k - 1)) return k - i;
  }
  return match_trailing_whitespace(c, i);
}

}  // namespace

std::vector<std::string_view> pre_tokenize(PreTokenizer kind, std::string_view text) {
  const Chars chars(text);
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < chars.size();) {
    size_t n = 0;
    switch (kind) {
      case PreTokenizer::kGpt2:
        n = match_gpt2(chars, i);
        break;
      case PreTokenizer::kLlama3:
        n = match_llama3(chars, i, 3);
        break;
      case PreTokenizer::kQwen2:
        n = match_llama3(chars, i, 1);
        break;
    }
    if (n == 0) n = 1;  // every character is matched by some branch; this only guards the loop
    const uint32_t begin = chars.offset(i), end = chars.offset(i + n);
    pieces.push_back(text.substr(begin, end - begin));
    i += n;
  }
  return pieces;
}

}  // namespace trit::tokenizer
