// Vocab from a tiktoken ranks file ("<base64 token> <rank>" lines) plus the 256 LLaMA-3 special
// tokens; the BPE merges are recovered from the ranks.
#include <algorithm>
#include <fstream>
#include <unordered_map>

#include "runtime/error.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace trit::tokenizer {

namespace {

// LLaMA-3's special tokens, ids 128000.. in this order (Meta's tokenizer.py); the rest of the 256
// are <|reserved_special_token_5|> upwards.
constexpr std::string_view kLlama3Specials[] = {
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|reserved_special_token_2|>",
    "<|reserved_special_token_3|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|reserved_special_token_4|>",
    "<|eot_id|>",
};
constexpr int kNumLlama3Specials = 256;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = base64_value(in[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  for (; i < in.size(); ++i)
    if (in[i] != '=') return false;
  return !out.empty();
}

std::string byte_level_text(std::string_view bytes) {
  std::string out;
  for (char c : bytes) out += byte_to_unicode(static_cast<uint8_t>(c));
  return out;
}

}  // namespace

Vocab Vocab::from_tiktoken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the tiktoken file", path);

  std::vector<std::string> by_rank;  // raw bytes of each rank
  std::string line, bytes;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos) fail("{}:{}: expected '<base64 token> <rank>'", path, line_no);
    if (!base64_decode(std::string_view(line).substr(0, space), bytes))
      fail("{}:{}: '{}' is not base64", path, line_no, line.substr(0, space));
    size_t rank = 0;
    try {
      size_t used = 0;
      rank = std::stoul(line.substr(space + 1), &used);
      if (used != line.size() - space - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      fail("{}:{}: rank '{}' is not a number", path, line_no, line.substr(space + 1));
    }
    if (rank != by_rank.size()) fail("{}:{}: rank {} out of order (expected {})", path, line_no, rank, by_rank.size());
    by_rank.push_back(bytes);
  }
  if (by_rank.empty()) fail("{}: no tokens", path);

  std::unordered_map<std::string_view, int32_t> rank_of;
  rank_of.reserve(by_rank.size());
  for (size_t r = 0; r < by_rank.size(); ++r) {
    if (!rank_of.emplace(by_rank[r], static_cast<int32_t>(r)).second)
      fail("{}: token of rank {} repeats an earlier one", path, r);
  }

  Vocab v;
  v.model = "gpt2";
  v.pre = "llama-bpe";
  const auto n_ranked = static_cast<int32_t>(by_rank.size());
  for (const std::string& b : by_rank) v.tokens.push_back(byte_level_text(b));
  v.types.assign(by_rank.size(), TokenType::kNormal);

  // Merges as Hugging Face derives them from tiktoken ranks: every split of a token into two
  // tokens, ordered by the joined token's rank, then by the two halves' ranks.
  struct Split {
    int32_t left, right;
  };
  std::vector<Split> splits;
  for (int32_t r = 0; r < n_ranked; ++r) {
    const std::string_view token = by_rank[r];
    splits.clear();
    for (size_t k = 1; k < token.size(); ++k) {
      auto l = rank_of.find(token.substr(0, k));
      auto rr = rank_of.find(token.substr(k));
      if (l != rank_of.end() && rr != rank_of.end()) splits.push_back({l->second, rr->second});
    }
    std::sort(splits.begin(), splits.end(),
              [](const Split& a, const Split& b) { return a.left != b.left ? a.left < b.left : a.right < b.right; });
    for (const Split& s : splits) v.merges.push_back(v.tokens[s.left] + " " + v.tokens[s.right]);
  }

  for (int i = 0; i < kNumLlama3Specials; ++i) {
    const int n_named = static_cast<int>(std::size(kLlama3Specials));
    v.tokens.push_back(i < n_named ? std::string(kLlama3Specials[i])
                                   : "<|reserved_special_token_" + std::to_string(i - n_named + 5) + "|>");
    v.types.push_back(TokenType::kControl);
  }
  v.bos_id = n_ranked;      // <|begin_of_text|>
  v.eos_id = n_ranked + 1;  // <|end_of_text|>
  v.eot_id = n_ranked + 9;  // <|eot_id|>
  return v;
}

}  // namespace trit::tokenizer
