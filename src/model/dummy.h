// Models with random ternary weights in the real file format, for tests, demos and benchmarks:
// the shapes of bitnet.cpp's dummy generator plus the exact shapes of the released BitNet models
// (the embedding models "embed-0.6B" and "embed-270M" as bitnet.cpp's embedding converter writes them).
// Written streaming, one tensor at a time, so the largest shapes need little memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/vocab.h"

namespace trit::model {

struct DummyShape {
  std::string name;  // "125M", "2B-4T", ...
  std::string arch;  // general.architecture
  int64_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_vocab, n_ctx;
  double rope_base;
  int64_t head_dim = 0;  // 0: n_embd / n_head; otherwise written as attention.key_length/value_length
  double rms_eps = 1e-5;
  int64_t sliding_window = 0;  // written as attention.sliding_window when set (gemma3)
};

const std::vector<DummyShape>& dummy_shapes();
// Throws trit::Error listing the known names.
const DummyShape& find_dummy_shape(const std::string& name);

struct DummyOptions {
  std::string path;
  DummyShape shape;
  uint32_t type_id = 36;  // linear-layer weight type (ternary: i2_s, tl1, tl2, tq1_0, tq2_0; or f16/f32/bf16/q8_0)
  uint64_t seed = 42;
  // A real tokenizer; when absent, a synthetic SentencePiece-style vocabulary with byte fallback
  // (so any text encodes) of shape.n_vocab tokens. A given vocabulary sets the model's n_vocab.
  std::optional<tokenizer::Vocab> vocab;
  bool show_progress = true;
};

void write_dummy_model(const DummyOptions& options);

// The synthetic vocabulary: <unk> <s> </s>, the 256 byte tokens <0x00>..<0xFF>, then letter n-grams
// with and without the SentencePiece space mark, up to n_tokens.
tokenizer::Vocab synthetic_vocab(int64_t n_tokens);

}  // namespace trit::model
