// Rotary position embedding on one head. Two pairings exist in GGUF models:
//   kNorm: (x[2i], x[2i+1])          — llama.cpp's LLAMA_ROPE_TYPE_NORM (LLaMA files, Q/K permuted by the converter)
//   kNeox: (x[i], x[i + n_rot/2])    — LLAMA_ROPE_TYPE_NEOX (the BitNet architectures, no permutation)
// Pair i rotates by angle pos * freq_scale * base^(-2i/n_rot).
#pragma once

#include <cstdint>

namespace trit::kernels {

enum class RopeStyle { kNorm, kNeox };

struct RopeParams {
  int64_t n_rot = 0;  // rotated dimensions (<= head_dim, even); the rest pass through
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // 1 / linear scaling factor
  RopeStyle style = RopeStyle::kNorm;
  const float* freq_factors = nullptr;  // n_rot/2 divisors of the angles (rope_freqs.weight), or null
};

void rope(float* head, int64_t pos, const RopeParams& params);

// The same rotation split in two, so that a token's angles are computed once for all its heads:
// rope_angles fills cos[i], sin[i] for the n_rot / 2 pairs of position pos (the values rope() uses),
// rope_heads rotates n_heads consecutive heads of head_dim floats by them. rope() is built on them.
void rope_angles(int64_t pos, const RopeParams& params, float* cos, float* sin);
void rope_heads(float* heads, int64_t n_heads, int64_t head_dim, const float* cos, const float* sin,
                const RopeParams& params);

}  // namespace trit::kernels
