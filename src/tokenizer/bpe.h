// Byte-level BPE tokenizer (tokenizer.ggml.model "gpt2"): a pre-tokenizer regex splits the text, each
// piece's bytes become GPT-2's printable characters, and ranked merges join adjacent tokens.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

namespace trit::tokenizer {

class BpeTokenizer final : public Tokenizer {
 public:
  BpeTokenizer(Vocab vocab, PreTokenizer pre_tokenizer);
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const override;
  std::string token_to_piece(int32_t id, bool render_special) const override;

 private:
  struct Merge {
    int32_t rank;
    int32_t result;  // the id of the joined token
  };
  // Appends the ids of one pre-tokenized piece.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  const Merge* find_merge(int32_t left, int32_t right) const;

  PreTokenizer pre_tokenizer_;
  bool ignore_merges_ = false;  // a piece that is itself a token is taken whole (LLaMA-3)
  std::array<int32_t, 256> byte_ids_;
  std::unordered_map<uint64_t, Merge> merges_;  // key: left id << 32 | right id
};

}  // namespace trit::tokenizer
