// Tokenizer: choosing the implementation for a vocabulary, special-token splitting, decoding and
// the end-of-generation set.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>

#include "runtime/error.h"
#include "tokenizer/bpe.h"
#include "tokenizer/spm.h"

namespace trit::tokenizer {

namespace {

// Token texts that end generation whatever the metadata says (llama.cpp keeps the same list).
constexpr std::array<std::string_view, 7> kEndOfGenerationTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"};

void check_vocab(const Vocab& v) {
  const size_t n = v.tokens.size();
  if (n == 0) fail("vocabulary: no tokens");
  if (n > static_cast<size_t>(INT32_MAX)) fail("vocabulary: {} tokens, more than ids can hold", n);
  if (!v.scores.empty() && v.scores.size() != n) fail("vocabulary: {} scores for {} tokens", v.scores.size(), n);
  if (!v.types.empty() && v.types.size() != n) fail("vocabulary: {} token types for {} tokens", v.types.size(), n);
  for (size_t i = 0; i < v.types.size(); ++i) {
    const auto t = static_cast<int32_t>(v.types[i]);
    if (t < 0 || t > static_cast<int32_t>(TokenType::kByte)) fail("vocabulary: token {} has unknown type {}", i, t);
  }
  const std::pair<const char*, int32_t> ids[] = {{"bos", v.bos_id}, {"eos", v.eos_id}, {"eot", v.eot_id},
                                                 {"eom", v.eom_id}, {"unk", v.unk_id}, {"pad", v.pad_id},
                                                 {"sep", v.sep_id}};
  for (const auto& [name, id] : ids) {
    if (id < -1 || id >= static_cast<int64_t>(n))
      fail("vocabulary: {} token id {} is out of range (0..{})", name, id, n - 1);
  }
}

}  // namespace

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {
  check_vocab(vocab_);
  const int32_t n = vocab_.n_tokens();
  token_to_id_.reserve(static_cast<size_t>(n));
  for (int32_t id = 0; id < n; ++id) token_to_id_.emplace(vocab_.tokens[id], id);

  // Special tokens for split_special, longest first within each first byte.
  specials_by_first_byte_.resize(256);
  for (int32_t id = 0; id < n; ++id) {
    const TokenType t = vocab_.type(id);
    const std::string& text = vocab_.tokens[id];
    if (text.empty()) continue;
    if (t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) {
      specials_by_first_byte_[static_cast<uint8_t>(text[0])].push_back(id);
    }
  }
  for (auto& list : specials_by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [&](int32_t a, int32_t b) { return vocab_.tokens[a].size() > vocab_.tokens[b].size(); });
  }

  // End of generation: the declared ids plus the well-known end texts.
  for (int32_t id : {vocab_.eos_id, vocab_.eot_id, vocab_.eom_id}) {
    if (id >= 0) eog_ids_.push_back(id);
  }
  for (std::string_view text : kEndOfGenerationTexts) {
    if (auto it = token_to_id_.find(text); it != token_to_id_.end()) eog_ids_.push_back(it->second);
  }
  std::sort(eog_ids_.begin(), eog_ids_.end());
  eog_ids_.erase(std::unique(eog_ids_.begin(), eog_ids_.end()), eog_ids_.end());
}

std::unique_ptr<Tokenizer> Tokenizer::create(Vocab vocab) {
  if (vocab.model == "llama") return std::make_unique<SpmTokenizer>(std::move(vocab));
  if (vocab.model == "gpt2") {
    const std::string pre = vocab.pre.empty() ? "default" : vocab.pre;
    const auto kind = pre_tokenizer_from_name(pre);
    if (!kind) fail("vocabulary: pre-tokenizer '{}' (tokenizer.ggml.pre) is not supported", pre);
    return std::make_unique<BpeTokenizer>(std::move(vocab), *kind);
  }
  fail("vocabulary: tokenizer model '{}' (tokenizer.ggml.model) is not supported; trit reads 'llama' and 'gpt2'",
       vocab.model);
}

std::vector<Tokenizer::Fragment> Tokenizer::split_special(std::string_view text, bool parse_special) const {
  std::vector<Fragment> fragments;
  size_t plain_begin = 0;
  for (size_t pos = 0; pos < text.size();) {
    int32_t match = -1;
    for (int32_t id : specials_by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      if (!parse_special && vocab_.type(id) != TokenType::kUserDefined) continue;
      if (text.substr(pos).starts_with(vocab_.tokens[id])) {
        match = id;
        break;
      }
    }
    if (match < 0) {
      ++pos;
      continue;
    }
    if (pos > plain_begin) fragments.push_back({-1, text.substr(plain_begin, pos - plain_begin)});
    fragments.push_back({match, {}});
    pos += vocab_.tokens[match].size();
    plain_begin = pos;
  }
  if (plain_begin < text.size()) fragments.push_back({-1, text.substr(plain_begin)});
  return fragments;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special, bool remove_leading_space) const {
  std::string text;
  bool strip = remove_leading_space && add_space_prefix_;
  for (int32_t id : ids) {
    std::string piece = token_to_piece(id, render_special);
    if (piece.empty()) continue;
    if (strip && piece[0] == ' ') piece.erase(0, 1);
    strip = false;
    text += piece;
  }
  return text;
}

bool Tokenizer::is_eog(int32_t id) const { return std::binary_search(eog_ids_.begin(), eog_ids_.end(), id); }

int32_t Tokenizer::find_token(std::string_view text) const {
  auto it = token_to_id_.find(text);
  return it == token_to_id_.end() ? -1 : it->second;
}

std::vector<int32_t> encode_prompt(const Tokenizer& tok, std::string_view text) {
  std::vector<int32_t> ids = tok.encode(text, /*add_special=*/true, /*parse_special=*/true);
  if (ids.size() >= 2 && tok.bos() >= 0 && ids[0] == tok.bos() && ids[1] == tok.bos()) ids.erase(ids.begin());
  return ids;
}

}  // namespace trit::tokenizer
