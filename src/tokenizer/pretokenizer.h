// Pre-tokenizers of byte-level BPE vocabularies: each splits text into the pieces its Hugging Face
// regex matches, written out by hand (no regex engine) with the regex's leftmost-first semantics.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace trit::tokenizer {

enum class PreTokenizer {
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  kLlama3,
  // The LLaMA-3 regex with \p{N} (one digit per piece) instead of \p{N}{1,3}.
  kQwen2,
};

// The pre-tokenizer a tokenizer.ggml.pre name stands for; nullopt for names trit does not know.
std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name);

// Splits text into consecutive pieces that cover it exactly. Malformed UTF-8 bytes are kept and
// count as characters outside \s, \p{L} and \p{N}.
std::vector<std::string_view> pre_tokenize(PreTokenizer kind, std::string_view text);

}  // namespace trit::tokenizer
