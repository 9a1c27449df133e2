// Training a byte-level BPE tokenizer (GPT-2 style) on a text: special tokens split out, the GPT-2
// pre-tokenizer regex, then the most frequent adjacent pair merged until the vocabulary is full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/vocab.h"

namespace trit::train {

struct BpeTrainOptions {
  // Final vocabulary size: special tokens + 256 bytes + merges. Must be at least specials + 256.
  int32_t vocab_size = 0;
  // Texts split out of the corpus before pre-tokenisation and never merged across; ids 0.. in order.
  std::vector<std::string> special_tokens;
  int n_threads = 0;           // pre-tokenisation threads; <= 0: hardware concurrency
  bool show_progress = false;  // progress bars on stderr, for corpora of 8 MiB and more
  // Pre-tokenisation work unit: runs of text longer than twice this are cut near multiples of it, at
  // places where the result cannot change; 0: 1 MiB. (Tests set it small.)
  size_t chunk_bytes = 0;
};

struct BpeTrainResult {
  // Each id's raw bytes (a special token's own text). Ids: the specials, then the 256 bytes in the order
  // of their GPT-2 printable characters (as GPT-2's vocab.json and Hugging Face's trainer number them),
  // then one token per merge.
  std::vector<std::string> tokens;
  int32_t n_special = 0;
  // The merges in the order learned: (left id, right id); merge k forms token n_special + 256 + k.
  std::vector<std::pair<int32_t, int32_t>> merges;
  // Statistics.
  uint64_t n_pieces = 0;        // pre-tokens in the corpus
  uint64_t n_unique_words = 0;  // distinct pre-tokens
};

// Trains on text. Ties between equally frequent pairs go to the lexicographically greater pair, the
// pair compared as (left bytes, right bytes). Stops early (fewer merges) when no pair is left.
// Throws trit::Error for a vocab_size too small for the specials and bytes, or an empty special token.
BpeTrainResult train_bpe(std::string_view text, const BpeTrainOptions& options);
// The same over several texts (files): no pre-token spans two of them.
BpeTrainResult train_bpe(std::span<const std::string_view> texts, const BpeTrainOptions& options);

// A token's bytes as GPT-2's printable characters ("Ġthe" for " the").
std::string byte_level_text(std::string_view bytes);

// The trained tokenizer as trit's Vocab: model "gpt2", pre-tokenizer "gpt-2", specials as control
// tokens, the first special named "<|endoftext|>" (if any) as EOS.
tokenizer::Vocab to_vocab(const BpeTrainResult& result);

// A Hugging Face tokenizer.json (ByteLevel pre-tokenizer and decoder, BPE model with vocab and merges,
// added_tokens for the specials), pretty-printed.
std::string to_tokenizer_json(const BpeTrainResult& result);

// GPT-2's vocab.json ({"token": id, ...} in id order) and merges.txt ("a b" lines) texts.
std::string to_vocab_json(const BpeTrainResult& result);
std::string to_merges_txt(const BpeTrainResult& result);

}  // namespace trit::train
