// Text <-> token ids for every vocabulary type trit reads: SentencePiece-style (llama) and byte-level
// BPE (gpt2; llama-bpe, qwen2 and others differ in the pre-tokenizer regex), with special tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.h"

namespace trit::tokenizer {

class Tokenizer {
 public:
  // Throws trit::Error for a vocabulary type or pre-tokenizer trit does not know, naming it.
  static std::unique_ptr<Tokenizer> create(Vocab vocab);
  virtual ~Tokenizer() = default;

  // add_special: BOS/EOS as the vocabulary asks (tokenizer.ggml.add_bos_token, ...);
  // parse_special: text such as "<|eot_id|>" becomes its control token instead of plain text.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const = 0;
  // The bytes one token stands for (SentencePiece's U+2581 -> space, <0x0A> -> "\n", byte-level
  // BPE's mapped bytes -> raw bytes). Control tokens give their text only when render_special.
  virtual std::string token_to_piece(int32_t id, bool render_special) const = 0;
  // Whole sequence to text (the leading space SentencePiece adds is removed when remove_leading_space:
  // one space at the start of the first piece that gives any text).
  std::string decode(std::span<const int32_t> ids, bool render_special = false, bool remove_leading_space = true) const;

  const Vocab& vocab() const { return vocab_; }
  int32_t n_tokens() const { return vocab_.n_tokens(); }
  int32_t bos() const { return vocab_.bos_id; }
  int32_t eos() const { return vocab_.eos_id; }
  // End of generation: EOS, EOT, EOM and the known end tokens (<|eot_id|>, <|end_of_text|>, <|im_end|>, ...).
  bool is_eog(int32_t id) const;
  // Looks a token's text up; -1 when absent.
  int32_t find_token(std::string_view text) const;
  // Whether the vocabulary prefixes text with a space (SentencePiece's dummy prefix).
  bool adds_space_prefix() const { return add_space_prefix_; }

 protected:
  explicit Tokenizer(Vocab vocab);

  // Text split around special tokens: a fragment is either a token id or a run of plain text.
  struct Fragment {
    int32_t id = -1;        // >= 0 for a special token
    std::string_view text;  // plain text when id < 0
  };
  // Splits out user-defined tokens always, and control and unknown tokens when parse_special
  // (leftmost match first, the longest one where several start at the same byte).
  std::vector<Fragment> split_special(std::string_view text, bool parse_special) const;

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  Vocab vocab_;
  std::vector<int32_t> eog_ids_;
  // Each text's first id.
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> token_to_id_;
  // For split_special: control, user-defined and unknown ids by first byte (256 lists), longest first.
  std::vector<std::vector<int32_t>> specials_by_first_byte_;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
};

// A prompt's tokens: BOS/EOS as the vocabulary asks, special-token text parsed; a BOS written in the
// text itself is not doubled by the one the tokenizer adds.
std::vector<int32_t> encode_prompt(const Tokenizer& tok, std::string_view text);

// Turns a stream of ids into text that is always whole UTF-8: bytes of a character split across
// tokens are held back until the character is complete; invalid sequences come out as U+FFFD.
// remove_leading_space drops the space SentencePiece puts before the first word: ask for it when the
// stream starts at the beginning of a text, not when it continues a prompt.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false, bool remove_leading_space = false);
  std::string push(int32_t id);  // text ready to print after this token (may be empty)
  std::string flush();           // what is left at the end (incomplete bytes -> U+FFFD)

 private:
  const Tokenizer& tokenizer_;
  bool render_special_;
  bool remove_leading_space_;
  bool first_ = true;
  std::string pending_;
};

}  // namespace trit::tokenizer
