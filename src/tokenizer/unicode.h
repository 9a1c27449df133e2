// UTF-8 decoding and encoding, the Unicode classes the pre-tokenizers need (letter, number, white
// space, via ICU), and GPT-2's reversible bytes <-> printable characters map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace trit::tokenizer {

// Stands for a byte that does not start a valid UTF-8 sequence; such bytes are kept, one at a time.
inline constexpr uint32_t kInvalidCodepoint = 0x110000;

struct Utf8Char {
  uint32_t codepoint = kInvalidCodepoint;  // kInvalidCodepoint for a malformed byte
  uint32_t n_bytes = 1;                    // 1..4; 1 for a malformed byte
};

// Decodes the character starting at text[pos] (pos < text.size()). Overlong forms, surrogates, values
// past U+10FFFF and truncated sequences give {kInvalidCodepoint, 1}.
Utf8Char utf8_decode(std::string_view text, size_t pos);
void utf8_append(std::string& out, uint32_t codepoint);
// Length of a UTF-8 sequence from its first byte (1 for a continuation or invalid byte).
size_t utf8_sequence_length(uint8_t first_byte);

// What the pre-tokenizer regexes ask of a character.
enum class CharClass : uint8_t {
  kLetter,      // \p{L}
  kNumber,      // \p{N}
  kWhitespace,  // \s (Unicode White_Space)
  kOther,       // everything else, malformed bytes included
};
CharClass char_class(uint32_t codepoint);
// Simple case folding for the case-insensitive contractions of the LLaMA-3 regex.
uint32_t simple_fold(uint32_t codepoint);

// GPT-2 byte-level BPE: each byte stands as one printable character in token texts.
const std::string& byte_to_unicode(uint8_t byte);  // its UTF-8 text
// The byte a code point stands for, or -1 when the code point is not one of the 256.
int unicode_to_byte(uint32_t codepoint);

}  // namespace trit::tokenizer
