// SentencePiece-style encoding: characters merged pairwise by piece score, then byte fallback.
#include "tokenizer/spm.h"

#include <queue>

#include "runtime/error.h"
#include "tokenizer/unicode.h"

namespace trit::tokenizer {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's space

std::string escape_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (char c : text) {
    if (c == ' ')
      out += kSpaceMark;
    else
      out += c;
  }
  return out;
}

std::string unescape_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    if (text.substr(pos, kSpaceMark.size()) == kSpaceMark) {
      out += ' ';
      pos += kSpaceMark.size();
    } else {
      out += text[pos++];
    }
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0x0A>" -> 10; -1 for any other text.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || !text.starts_with("<0x") || text[5] != '>') return -1;
  const int hi = hex_digit(text[3]), lo = hex_digit(text[4]);
  return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

// One piece of the text being merged; pieces form a doubly linked list over the symbol array.
struct Symbol {
  int32_t prev, next;
  uint32_t begin, n_bytes;  // byte range in the text; n_bytes == 0 once merged into the left neighbour
};

struct Bigram {
  float score;
  int32_t left, right;
  uint32_t n_bytes;                        // left + right at the time the pair was queued
  bool operator<(const Bigram& o) const {  // priority_queue top: highest score, then leftmost
    return score < o.score || (score == o.score && left > o.left);
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(Vocab vocab) : Tokenizer(std::move(vocab)) {
  add_bos_ = vocab_.add_bos.value_or(true);
  add_eos_ = vocab_.add_eos.value_or(false);
  add_space_prefix_ = vocab_.add_space_prefix.value_or(true);
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const std::string name = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    byte_ids_[b] = find_token(name);
  }
}

int32_t SpmTokenizer::mergeable_id(std::string_view piece) const {
  const int32_t id = find_token(piece);
  if (id < 0) return -1;
  const TokenType t = vocab_.type(id);
  return (t == TokenType::kNormal || t == TokenType::kUserDefined || t == TokenType::kUndefined) ? id : -1;
}

void SpmTokenizer::append_bytes(std::string_view piece, std::vector<int32_t>& out) const {
  for (char c : piece) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id >= 0) {
      out.push_back(id);
    } else if (vocab_.unk_id >= 0) {
      // No byte fallback in this vocabulary: the whole unknown piece becomes one <unk>.
      if (out.empty() || out.back() != vocab_.unk_id) out.push_back(vocab_.unk_id);
    }
  }
}

void SpmTokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const uint32_t n = utf8_decode(text, pos).n_bytes;
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({index - 1, pos + n < text.size() ? index + 1 : -1, static_cast<uint32_t>(pos), n});
    pos += n;
  }
  if (symbols.empty()) return;

  std::priority_queue<Bigram> queue;
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    const int32_t id = mergeable_id(text.substr(l.begin, l.n_bytes + r.n_bytes));
    if (id < 0) return;
    const float score = vocab_.scores.empty() ? 0.0f : vocab_.scores[id];
    queue.push({score, left, right, l.n_bytes + r.n_bytes});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_pair(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = symbols[b.left];
    Symbol& r = symbols[b.right];
    // Stale entry: one side was merged away or grew since the pair was queued.
    if (l.n_bytes == 0 || r.n_bytes == 0 || l.next != b.right || l.n_bytes + r.n_bytes != b.n_bytes) continue;
    l.n_bytes += r.n_bytes;
    r.n_bytes = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = b.left;
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece = text.substr(symbols[i].begin, symbols[i].n_bytes);
    const int32_t id = mergeable_id(piece);
    if (id >= 0)
      out.push_back(id);
    else
      append_bytes(piece, out);
  }
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && add_bos_ && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  bool after_special = true;  // the dummy prefix goes before the text and after each special token
  for (const Fragment& f : split_special(text, parse_special)) {
    if (f.id >= 0) {
      out.push_back(f.id);
      after_special = true;
      continue;
    }
    std::string plain = (add_space_prefix_ && after_special) ? " " : "";
    plain += f.text;
    encode_text(escape_spaces(plain), out);
    after_special = false;
  }
  if (add_special && add_eos_ && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
  return out;
}

std::string SpmTokenizer::token_to_piece(int32_t id, bool render_special) const {
  if (id < 0 || id >= n_tokens()) fail("token id {} is out of range (vocabulary of {})", id, n_tokens());
  const std::string& text = vocab_.tokens[id];
  switch (vocab_.type(id)) {
    case TokenType::kControl:
    case TokenType::kUnknown:
    case TokenType::kUnused:
      return render_special ? text : std::string();
    case TokenType::kByte:
      if (const int byte = parse_byte_token(text); byte >= 0) return std::string(1, static_cast<char>(byte));
      return text;
    case TokenType::kNormal:
    case TokenType::kUserDefined:  // Gemma's user-defined runs of U+2581 are spaces too
    case TokenType::kUndefined:
      break;
  }
  return unescape_spaces(text);
}

}  // namespace trit::tokenizer
