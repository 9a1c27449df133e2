// The model's weights on the GPU, uploaded once: ternary matrices repacked into the GPU layout
// (kernels.h), Q/K/V and gate/up fused into one matrix each when all are ternary (one launch, one
// activation quantisation), float matrices as half precision, norms as float. Token embeddings stay
// on the host (one row per new token is looked up there and sent with the step's inputs).
#pragma once

#include <cstdint>
#include <vector>

#include "cuda/device_buffer.h"
#include "cuda/kernels.h"
#include "model/model.h"

namespace trit::cuda {

// One linear layer (or several fused ones sharing an input) on the device.
struct DeviceLinear {
  bool ternary = false;
  int rows = 0, cols = 0;
  TernaryDevice t;                // when ternary
  const uint16_t* f16 = nullptr;  // [rows][cols] otherwise
  int64_t bytes = 0;              // weight bytes read per token
  DeviceBuffer codes, scales, f16_data;
};

// The per-projection input norms of the embedding models (blk.N.<proj>_norm_in), in this order.
enum NormIn { kNormInQ, kNormInK, kNormInV, kNormInO, kNormInGate, kNormInUp, kNormInDown, kNormInCount };

struct DeviceLayer {
  // Null where the model has no such norm (model/weights.h says which architectures have which).
  const float *attn_norm = nullptr, *attn_sub_norm = nullptr, *ffn_norm = nullptr, *ffn_sub_norm = nullptr;
  const float *attn_q_norm = nullptr, *attn_k_norm = nullptr;       // per head (Qwen3, Gemma 3)
  const float *post_attn_norm = nullptr, *post_ffw_norm = nullptr;  // Gemma 3
  const float* norm_in[kNormInCount] = {};                          // embedding models
  bool has_norm_in() const { return norm_in[kNormInQ] != nullptr; }
  // Fused [wq; wk; wv] and [gate; up] when every part is ternary and they share one input (no norm_in);
  // else the parts, in that order.
  std::vector<DeviceLinear> qkv, gate_up;
  DeviceLinear wo, down;
  bool needs_float_input = false;  // some projection is not ternary: keep the normed float rows too
};

struct DeviceWeights {
  std::vector<DeviceLayer> layers;
  const float* output_norm = nullptr;
  DeviceLinear output;
  DeviceBuffer norms;       // every norm vector, back to back
  int max_padded_cols = 0;  // the widest ternary input (the int8 activation buffer's row)
  int64_t bytes_per_token = 0;

  // Throws trit::Error for models the GPU path does not run (naming what the CPU path needs instead)
  // and when the device is out of memory.
  static DeviceWeights upload(const model::Model& model, bool show_progress);
};

// The GPU layout of one I2 row (padded_cols / 4 bytes) from the CPU's (kernels/i2_matrix.h): exposed
// for the tests.
void repack_i2_row(const uint8_t* cpu_row, int64_t padded_cols, uint8_t* gpu_row);

}  // namespace trit::cuda
