// StreamDecoder: token pieces to text that is always whole UTF-8, holding back split characters.
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace trit::tokenizer {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// How many leading bytes of `bytes` (which do not hold a whole valid character) could still begin
// one: 0 when the first byte cannot, else 1..3 (Unicode's "maximal subpart").
size_t incomplete_prefix_length(std::string_view bytes) {
  const auto b0 = static_cast<uint8_t>(bytes[0]);
  if (b0 < 0xC2 || b0 > 0xF4) return 0;
  const size_t n = utf8_sequence_length(b0);
  size_t k = 1;
  for (; k < n && k < bytes.size(); ++k) {
    const auto b = static_cast<uint8_t>(bytes[k]);
    // The second byte's range rules out overlong forms, surrogates and values past U+10FFFF.
    uint8_t lo = 0x80, hi = 0xBF;
    if (k == 1 && b0 == 0xE0) lo = 0xA0;
    if (k == 1 && b0 == 0xED) hi = 0x9F;
    if (k == 1 && b0 == 0xF0) lo = 0x90;
    if (k == 1 && b0 == 0xF4) hi = 0x8F;
    if (b < lo || b > hi) break;
  }
  return k;
}

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool render_special, bool remove_leading_space)
    : tokenizer_(tokenizer), render_special_(render_special), remove_leading_space_(remove_leading_space) {}

std::string StreamDecoder::push(int32_t id) {
  std::string piece = tokenizer_.token_to_piece(id, render_special_);
  if (piece.empty()) return {};
  if (first_ && remove_leading_space_ && tokenizer_.adds_space_prefix() && piece[0] == ' ') piece.erase(0, 1);
  first_ = false;
  pending_ += piece;

  std::string ready;
  size_t pos = 0;
  while (pos < pending_.size()) {
    const Utf8Char c = utf8_decode(pending_, pos);
    if (c.codepoint != kInvalidCodepoint) {
      ready.append(pending_, pos, c.n_bytes);
      pos += c.n_bytes;
      continue;
    }
    const size_t prefix = incomplete_prefix_length(std::string_view(pending_).substr(pos));
    if (prefix == pending_.size() - pos) break;  // wait for the rest of the character
    ready += kReplacement;                       // one U+FFFD per broken sequence
    pos += prefix > 0 ? prefix : 1;
  }
  pending_.erase(0, pos);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest = pending_.empty() ? std::string() : std::string(kReplacement);
  pending_.clear();
  return rest;
}

}  // namespace trit::tokenizer
