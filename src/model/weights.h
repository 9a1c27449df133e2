// The model's weights, bound by GGUF tensor name and checked against the hyperparameters.
// The reference path holds ternary weights unpacked (one int8 per weight) and float weights as f32.
#pragma once

#include <cstdint>
#include <vector>

#include "model/hparams.h"
#include "model/linear.h"

namespace trit::gguf {
class Reader;
}

namespace trit::model {

struct LayerWeights {
  std::vector<float> attn_norm;      // [n_embd]
  std::vector<float> attn_sub_norm;  // [n_embd_q], BitNet only
  Linear wq, wk, wv, wo;
  std::vector<float> ffn_norm;      // [n_embd]
  std::vector<float> ffn_sub_norm;  // [n_ff], BitNet only
  Linear ffn_gate, ffn_up, ffn_down;
};

struct Weights {
  std::vector<float> token_embd;   // [n_vocab][n_embd]
  std::vector<float> output_norm;  // [n_embd]
  Linear output;                   // [n_vocab][n_embd]; tied to token_embd when the file has no output.weight
  bool output_tied = false;
  std::vector<float> rope_freqs;  // optional per-pair angle divisors
  std::vector<LayerWeights> layers;

  // Throws trit::Error naming the file and tensor for missing tensors, wrong shapes and types trit
  // cannot decode. show_progress draws a bar on stderr.
  static Weights load(const gguf::Reader& reader, const HParams& hparams, bool show_progress);
};

}  // namespace trit::model
