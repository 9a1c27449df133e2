// A tokenizer's vocabulary as GGUF stores it (tokenizer.ggml.*): tokens, scores, types, merges and the
// special ids. Built from a GGUF file, or from Hugging Face / SentencePiece / tiktoken files for the
// converter and written back as a GGUF tokenizer section.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace trit::gguf {
class Reader;
class Writer;
}  // namespace trit::gguf

namespace trit::tokenizer {

// llama.cpp's token attribute ids as stored in tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  std::string model;  // tokenizer.ggml.model: "llama" (SentencePiece), "gpt2" (byte-level BPE), ...
  std::string pre;    // tokenizer.ggml.pre: "default", "llama-bpe", "gpt-2", "qwen2", ...
  std::vector<std::string> tokens;
  std::vector<float> scores;        // empty when the file has none
  std::vector<TokenType> types;     // empty -> all normal
  std::vector<std::string> merges;  // "a b" pairs, BPE only, in rank order
  int32_t bos_id = -1, eos_id = -1, eot_id = -1, eom_id = -1, unk_id = -1, pad_id = -1, sep_id = -1;
  std::optional<bool> add_bos, add_eos;  // absent -> the model type's default
  std::optional<bool> add_space_prefix;
  std::optional<std::string> chat_template;  // tokenizer.chat_template

  // Reads tokenizer.ggml.* (and tokenizer.chat_template); throws trit::Error naming the file and key
  // for a missing or malformed section (wrong types, array lengths that disagree, ids out of range).
  static Vocab from_gguf(const gguf::Reader& reader);
  // Writes the same keys (for gen-dummy and convert).
  void write_gguf(gguf::Writer& writer) const;

  // Builders for the converter: a Hugging Face tokenizer.json (BPE or SentencePiece-style, with
  // added tokens and tokenizer_config.json's bos/eos/chat template when given), a SentencePiece
  // tokenizer.model (protobuf), a tiktoken ranks file (+ the LLaMA-3 special tokens).
  static Vocab from_tokenizer_json(const std::string& tokenizer_json, const std::string& tokenizer_config_json = "");
  static Vocab from_sentencepiece_model(const std::string& path);
  static Vocab from_tiktoken(const std::string& path);

  int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
  TokenType type(int32_t id) const { return types.empty() ? TokenType::kNormal : types[id]; }
};

}  // namespace trit::tokenizer
