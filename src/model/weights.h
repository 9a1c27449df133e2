// The model's weights, bound by GGUF tensor name and checked against the hyperparameters.
// Ternary weights are kept in the fast kernels' layout (in place for I2_S), float weights in place
// where their type allows (linear.h).
#pragma once

#include <cstdint>
#include <vector>

#include "model/hparams.h"
#include "model/linear.h"
#include "runtime/huge_buffer.h"

namespace trit::gguf {
class Reader;
struct TensorInfo;
}  // namespace trit::gguf

namespace trit::model {

struct LayerWeights {
  std::vector<float> attn_norm;      // [n_embd]
  std::vector<float> attn_sub_norm;  // [n_embd_q], BitNet only
  Linear wq, wk, wv, wo;
  std::vector<float> ffn_norm;      // [n_embd]
  std::vector<float> ffn_sub_norm;  // [n_ff], BitNet only
  Linear ffn_gate, ffn_up, ffn_down;
  std::vector<float> attn_q_norm, attn_k_norm;       // [head_dim], per head of Q and K (Qwen3, Gemma 3)
  std::vector<float> post_attn_norm, post_ffw_norm;  // [n_embd] (Gemma 3)
  // RMSNorm of each projection's input (the BitNet embedding models' BitLinear layers,
  // blk.N.<proj>_norm_in.weight); empty when the file has none.
  std::vector<float> q_norm_in, k_norm_in, v_norm_in, o_norm_in, gate_norm_in, up_norm_in, down_norm_in;
  bool has_norm_in() const { return !q_norm_in.empty(); }
};

// Token embeddings: rows read in place from the mapped file for row-blocked types (F16, F32, Q8_0,
// ...), decoded to floats at load otherwise.
struct Embedding {
  const gguf::TensorInfo* tensor = nullptr;
  uint64_t row_bytes = 0;      // in place when non-zero
  std::vector<float> decoded;  // [n_vocab][n_embd] otherwise
  int64_t n_embd = 0;
  void row(int32_t id, float* out) const;
};

struct Weights {
  Embedding token_embd;            // [n_vocab][n_embd]
  std::vector<float> output_norm;  // [n_embd]
  Linear output;                   // [n_vocab][n_embd]; token_embd's weights when the file has no output.weight
  std::vector<float> rope_freqs;   // optional per-pair angle divisors
  std::vector<LayerWeights> layers;
  runtime::HugeBuffer repacked;  // ternary weights repacked at load (every type but in-place I2_S)

  // Throws trit::Error naming the file and tensor for missing tensors, wrong shapes and types trit
  // cannot decode. show_progress draws a bar on stderr.
  // Bytes of weights read to produce one token (every linear layer and the output projection): what
  // decode streams from memory per token.
  int64_t bytes_per_token() const;

  // output_q8: quantise an F16/F32/BF16 output projection to Q8_0 (Q6_K ones always are).
  // Ternary tensors repacked at load have their loaded bytes released as soon as they are repacked
  // (Reader::release_tensor_data), so peak memory stays near the file size.
  static Weights load(gguf::Reader& reader, const HParams& hparams, bool show_progress, bool output_q8 = false);
};

}  // namespace trit::model
