// The CUDA kernels of the forward pass, as host-callable launchers on a stream. Everything here is plain
// C++ (no CUDA syntax), so the backend that strings them together compiles with the host compiler.
//
// Ternary matrices live on the GPU in their own layout (TernaryDevice): each row padded to whole
// 128-weight blocks like the CPU's I2 layout, cut into 64-weight chunks of 16 bytes. Word w (0-3) of a
// chunk holds weights 16w..16w+15; byte j of the word holds weight 16w + 4k + j in bits 2k..2k+1, codes
// 0/1/2 = -1/0/+1. So (word >> 2k) & 0x03030303 is four codes in the byte order of four consecutive int8
// activations: one dp4a (or, unpacked to int8, one tensor-core MMA operand) with no shuffling.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/activations.h"

namespace trit::cuda {

struct TernaryDevice {
  const uint8_t* codes = nullptr;  // rows * padded_cols / 4 bytes, 16-byte aligned
  int rows = 0;
  int padded_cols = 0;                   // multiple of 128
  const float* row_scale = nullptr;      // per row: the matrix's weight scale
  const float* row_out_scale = nullptr;  // per row: the optional output scale (1 when the file has none)
};

// Activations quantised per token to int8 by absmax (BitLinear): q [n][padded_cols] zero padded, the
// scale 127 / max|x| and the sum of the int8 values per token.
struct QuantizedRows {
  int8_t* q = nullptr;
  float* scale = nullptr;
  int32_t* sum = nullptr;
  int padded_cols = 0;
};

// Per row of a batch: where its token sits in its sequence and that sequence's KV cache.
struct RowDesc {
  int32_t pos;           // position of the token
  int32_t decode;        // 1 when the sequence has a single new token (the f16 cache rounds P as ggml does then)
  int64_t layer_stride;  // elements between layers in k and v ([layer][n_ctx][n_embd_kv])
  void* k;               // the sequence's keys (half or float)
  void* v;               // its values
};

enum class GluAct : int { kSilu = 0, kReluSqr = 1, kGeluTanh = 2 };

// The model's FFN activation as the kernels name it.
inline GluAct glu_act(kernels::FfnActivation a) {
  switch (a) {
    case kernels::FfnActivation::kReluSqr:
      return GluAct::kReluSqr;
    case kernels::FfnActivation::kGeluTanh:
      return GluAct::kGeluTanh;
    case kernels::FfnActivation::kSilu:
      break;
  }
  return GluAct::kSilu;
}

// x rows [n][ld_x] (cols used, at most 16384) -> optional RMSNorm by norm_w (null: none) -> int8 per row
// into out (padding zeroed). normed (optional, [n][ld_normed]) receives the float rows after the norm.
void quantize_rows(const float* x, int ld_x, int cols, int n, const float* norm_w, float eps, QuantizedRows out,
                   float* normed, int ld_normed, cudaStream_t stream);

// y[t][row] (= or +=) the BitLinear output of every row of w for tokens t < n:
// (sum code*q - sum q) / scale[t] * row_scale[row], times row_out_scale[row]. Integer dot products with
// dp4a for up to 8 tokens (decode), int8 tensor-core MMA beyond.
void ternary_matmul(const TernaryDevice& w, const QuantizedRows& x, int n, float* y, int ld_y, bool accumulate,
                    cudaStream_t stream);
// The two paths, for the tests.
void ternary_gemv(const TernaryDevice& w, const QuantizedRows& x, int n, float* y, int ld_y, bool accumulate,
                  cudaStream_t stream);
void ternary_gemm_mma(const TernaryDevice& w, const QuantizedRows& x, int n, float* y, int ld_y, bool accumulate,
                      cudaStream_t stream);

// y[t][row] (= or +=) sum_c w[row][c] * half(x[t][c]) for half-precision weights [rows][cols] (cols a
// multiple of 8); the inputs are rounded to half first, as ggml does for F16 weights.
void f16_matmul(const uint16_t* w, int rows, int cols, const float* x, int ld_x, int n, float* y, int ld_y,
                bool accumulate, cudaStream_t stream);

// quantize_rows of act(gate) * up (gate and up rows [n][ld_in] at columns 0 and n_ff): the gated FFN
// activation, its sub-norm and the int8 rounding in one pass; normed (optional) gets the float rows.
void glu_quantize_rows(const float* gate_up, int ld_in, int n_ff, int n, GluAct act, const float* norm_w, float eps,
                       QuantizedRows out, float* normed, int ld_normed, cudaStream_t stream);

// RoPE on every Q and K head of each row of qkv ([n][ld]: Q heads, K heads, V heads), then K and V
// stored in each row's cache at its position for `layer`. cos_table/sin_table: [position][n_rot / 2].
// With q_norm / k_norm (Qwen3, Gemma 3) each Q / K head is first RMS-normed by those head_dim weights.
struct RopeStoreArgs {
  float* qkv;
  int ld;
  int n;
  int n_head, n_head_kv, head_dim, n_rot;
  bool neox;
  const float* cos_table;
  const float* sin_table;
  const RowDesc* rows;
  int layer;
  bool f16_cache;
  const float* q_norm = nullptr;  // [head_dim], or null
  const float* k_norm = nullptr;
  float norm_eps = 0.0f;
};
void rope_store(const RopeStoreArgs& args, cudaStream_t stream);

// Causal attention of each row's query heads (in qkv) over its cache positions 0..pos; out [n][ld_out].
struct AttentionArgs {
  const float* qkv;
  int ld;
  int n;
  int n_head, n_head_kv, head_dim;
  float scale;
  int window;  // 0: none
  const RowDesc* rows;
  int layer;
  bool f16_cache;
  int max_keys;  // the longest cache any row may have: sizes the scores' shared memory
  float* out;
  int ld_out;
  const int32_t* row_list = nullptr;  // attention(): the n rows to attend for (null: rows 0..n-1)
};
// One block per (row, head), the scores of all keys in shared memory; a lone new token's attention
// weights rounded to f16 with an f16 cache, as ggml rounds them. For decode steps.
void attention(const AttentionArgs& args, cudaStream_t stream);
// Raises the attention kernels' shared-memory limit for max_keys; false when the device cannot hold it.
bool attention_reserve(int max_keys);

// Up to kAttnTileRows consecutive rows of one sequence (consecutive positions): flash_attention's unit.
struct AttnTile {
  int32_t row0;
  int32_t rows;
};
constexpr int kAttnTileRows = 32;
constexpr int kMaxFlashHeadDim = 256;
// attention() for prompt rows, tile by tile with an online softmax (flash_attention.cu): the cache is
// read once per tile instead of once per row. args.n and row_list are unused.
void flash_attention(const AttentionArgs& args, const AttnTile* tiles, int n_tiles, cudaStream_t stream);
// Raises flash_attention's shared-memory limit for head_dim; false when it cannot run it (head_dim
// above kMaxFlashHeadDim, or too little shared memory): attention() then serves every row.
bool flash_attention_reserve(int head_dim);

// out[i] = RMSNorm(x[row_index[i]]) for i < n (output rows picked out of a batch).
void gather_rms_norm(const float* x, int ld_x, const int32_t* row_index, int n, int cols, const float* w, float eps,
                     float* out, cudaStream_t stream);

// out[r] (= or, with accumulate, +=) RMSNorm(x[r]) * w for rows r < n: the embedding models' norm before
// a per-projection norm, and Gemma's post-norms added to the residual.
void rms_norm_rows(const float* x, int ld_x, int cols, int n, const float* w, float eps, float* out, int ld_out,
                   bool accumulate, cudaStream_t stream);

// ids[t] = argmax of logits row t ([n][cols]); the lowest index among equals.
void argmax_rows(const float* logits, int n, int cols, int32_t* ids, cudaStream_t stream);

// Sampling's top-k on the GPU: the k (1..kMaxTopK, at most cols) highest logits of each row ([n][cols])
// into out_logits and out_ids ([n][k]), highest first and equal logits by the lower id (the CPU
// sampler's order). scratch holds top_k_scratch_bytes(n, cols, k).
constexpr int kMaxTopK = 256;
size_t top_k_scratch_bytes(int n, int cols, int k);
void top_k_rows(const float* logits, int n, int cols, int k, void* scratch, float* out_logits, int32_t* out_ids,
                cudaStream_t stream);

// One layer for decode_step: the fused Q/K/V and gate/up matrices, Wo and Wdown (all ternary), and the
// norms (the sub-norms may be null).
struct DecodeLayer {
  const float *attn_norm, *attn_sub_norm, *ffn_norm, *ffn_sub_norm;
  TernaryDevice qkv, wo, gate_up, down;
};
struct DecodeStepArgs {
  const DecodeLayer* layers;  // [n_layer], in device memory
  int n_layer;
  float* x;        // [n_embd]: the token's embedding in, its final hidden state (before the output norm) out
  float* qkv;      // [n_embd_q + 2 n_embd_kv] scratch
  float* att;      // [n_embd_q] scratch
  float* gate_up;  // [2 n_ff] scratch
  int n_embd, n_embd_q, n_ff;
  float eps;
  GluAct act;
  RopeStoreArgs rope;       // for the one row (n = 1, no per-head norms); `layer` is set per layer
  AttentionArgs attention;  // likewise (the row kernel's arguments, no row list)
};
// Every layer of a decode step of one sequence (one new token) in one persistent cooperative launch
// (decode_step.cu): what the per-kernel path computes, with grid-wide barriers between the stages
// instead of kernel boundaries and each coming matrix prefetched into L2 during the barriers.
// `blocks` is what decode_step_reserve returned for these sizes (a block per SM).
void decode_step(const DecodeStepArgs& args, int blocks, cudaStream_t stream);
// Readies decode_step for inputs up to max_padded_cols wide (the widest of n_embd, n_embd_q, n_ff,
// padded to 128) and attention over max_keys positions of head_dim. Returns the grid size to launch
// with, or 0 when the device cannot run it (no cooperative launch, too little shared memory).
int decode_step_reserve(int max_padded_cols, int head_dim, int max_keys);

// Reads `bytes` from src and writes them to dst with 16-byte accesses (bandwidth measurement).
void copy_bytes(const void* src, void* dst, size_t bytes, cudaStream_t stream);

}  // namespace trit::cuda
