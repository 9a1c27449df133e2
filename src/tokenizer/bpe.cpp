// Byte-level BPE encoding: pre-tokenize, map bytes to GPT-2's characters, apply merges by rank.
#include "tokenizer/bpe.h"

#include <queue>

#include "runtime/error.h"
#include "tokenizer/unicode.h"

namespace trit::tokenizer {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct Symbol {
  int32_t id;  // token id; -1 once merged into the left neighbour
  int32_t prev, next;
};

struct Candidate {
  int32_t rank;
  int32_t left, right;
  int32_t left_id, right_id;                  // the ids when queued, to recognise stale entries
  bool operator<(const Candidate& o) const {  // priority_queue top: lowest rank, then leftmost
    return rank > o.rank || (rank == o.rank && left > o.left);
  }
};

}  // namespace

BpeTokenizer::BpeTokenizer(Vocab vocab, PreTokenizer pre_tokenizer)
    : Tokenizer(std::move(vocab)), pre_tokenizer_(pre_tokenizer) {
  // LLaMA-3 style vocabularies add BOS and look whole pieces up before merging (tokenizer.json's
  // "ignore_merges"); GPT-2 style ones do neither.
  const bool llama3 = pre_tokenizer == PreTokenizer::kLlama3;
  ignore_merges_ = llama3;
  add_bos_ = vocab_.add_bos.value_or(llama3);
  add_eos_ = vocab_.add_eos.value_or(false);
  add_space_prefix_ = false;
  for (int b = 0; b < 256; ++b) byte_ids_[b] = find_token(byte_to_unicode(static_cast<uint8_t>(b)));

  merges_.reserve(vocab_.merges.size());
  for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
    const std::string& merge = vocab_.merges[rank];
    const size_t space = merge.find(' ', 1);
    if (space == std::string::npos)
      fail("vocabulary: merge {} ('{}') is not two tokens separated by a space", rank, merge);
    const std::string_view left(merge.data(), space), right(merge.data() + space + 1, merge.size() - space - 1);
    const int32_t l = find_token(left), r = find_token(right);
    const int32_t joined = find_token(std::string(left) + std::string(right));
    if (l < 0 || r < 0 || joined < 0) continue;  // a merge that cannot be reached or gives no token
    merges_.try_emplace(pair_key(l, r), Merge{static_cast<int32_t>(rank), joined});
  }
}

const BpeTokenizer::Merge* BpeTokenizer::find_merge(int32_t left, int32_t right) const {
  auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeTokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    std::string mapped;
    for (char c : piece) mapped += byte_to_unicode(static_cast<uint8_t>(c));
    if (const int32_t id = find_token(mapped); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  for (char c : piece) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id < 0) continue;  // a vocabulary without this byte cannot spell it
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::priority_queue<Candidate> queue;
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    if (const Merge* m = find_merge(symbols[left].id, symbols[right].id)) {
      queue.push({m->rank, left, right, symbols[left].id, symbols[right].id});
    }
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_pair(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = symbols[c.left];
    Symbol& r = symbols[c.right];
    if (l.id != c.left_id || r.id != c.right_id || l.next != c.right) continue;  // stale
    l.id = find_merge(l.id, r.id)->result;
    r.id = -1;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = c.left;
    try_pair(l.prev, c.left);
    try_pair(c.left, l.next);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && add_bos_ && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  for (const Fragment& f : split_special(text, parse_special)) {
    if (f.id >= 0) {
      out.push_back(f.id);
      continue;
    }
    for (std::string_view piece : pre_tokenize(pre_tokenizer_, f.text)) encode_piece(piece, out);
  }
  if (add_special && add_eos_ && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
  return out;
}

std::string BpeTokenizer::token_to_piece(int32_t id, bool render_special) const {
  if (id < 0 || id >= n_tokens()) fail("token id {} is out of range (vocabulary of {})", id, n_tokens());
  const std::string& text = vocab_.tokens[id];
  switch (vocab_.type(id)) {
    case TokenType::kControl:
    case TokenType::kUnknown:
    case TokenType::kUnused:
      return render_special ? text : std::string();
    case TokenType::kUserDefined:
      return text;
    default:
      break;
  }
  // Each character stands for one byte; one outside GPT-2's map is kept as it is.
  std::string bytes;
  bytes.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = utf8_decode(text, pos);
    const int byte = unicode_to_byte(c.codepoint);
    if (byte >= 0)
      bytes += static_cast<char>(byte);
    else
      bytes.append(text, pos, c.n_bytes);
    pos += c.n_bytes;
  }
  return bytes;
}

}  // namespace trit::tokenizer
