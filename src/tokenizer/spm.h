// SentencePiece-style tokenizer (tokenizer.ggml.model "llama"): spaces as U+2581, an optional dummy
// space prefix, greedy merges of the adjacent pair whose joined piece scores highest, byte fallback.
#pragma once

#include <array>

#include "tokenizer/tokenizer.h"

namespace trit::tokenizer {

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(Vocab vocab);
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const override;
  std::string token_to_piece(int32_t id, bool render_special) const override;

 private:
  // Appends the ids of one run of plain text (spaces already replaced by U+2581).
  void encode_text(std::string_view text, std::vector<int32_t>& out) const;
  // The id of a piece that merges may produce (normal or user-defined), or -1.
  int32_t mergeable_id(std::string_view piece) const;
  void append_bytes(std::string_view piece, std::vector<int32_t>& out) const;

  std::array<int32_t, 256> byte_ids_;  // <0xXX> tokens, -1 where absent
};

}  // namespace trit::tokenizer
