// Choosing the next token from logits: penalties, then greedy or temperature sampling through the
// top-k -> top-p -> min-p filters (llama.cpp's order), seeded for reproducibility.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace trit::sampling {

struct SamplerParams {
  float temperature = 0.8f;        // <= 0: greedy
  int32_t top_k = 40;              // <= 0: off
  float top_p = 0.95f;             // >= 1: off
  float min_p = 0.05f;             // <= 0: off
  float repeat_penalty = 1.0f;     // 1: off; divides positive logits, multiplies negative ones
  int32_t repeat_last_n = 64;      // how many recent tokens the penalties look at (-1: all)
  float presence_penalty = 0.0f;   // subtracted once from every recent token's logit
  float frequency_penalty = 0.0f;  // subtracted per occurrence
  uint64_t seed = 0;

  // Throws trit::Error naming the parameter for values out of range (negative temperature is
  // allowed and means greedy, as in llama.cpp).
  void validate() const;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);

  // Picks a token. `logits` is modified (penalties, temperature). `history` is every token so far,
  // prompt included; penalties look at its last repeat_last_n entries.
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);

  // How many of the highest logits sample() can decide from: 1 when greedy, top_k when top-k is on;
  // 0 (it needs them all) when penalties change logits or top-k is off.
  int32_t top_needed() const;
  // sample() given only the n >= top_needed() highest logits of the row (the row's top n, highest first,
  // equal logits with the lower id first, as Backend::eval_top_k returns them): the same token sample()
  // would pick from the whole row, drawing from the random stream the same way.
  int32_t sample_top(std::span<const float> logits, std::span<const int32_t> ids);

  const SamplerParams& params() const { return params_; }

 private:
  // temperature -> top-p -> min-p -> draw over candidates_ (sorted, cut to top-k).
  int32_t draw();

  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

// The highest logit's index (the lowest index among equal maxima).
int32_t argmax(std::span<const float> logits);

}  // namespace trit::sampling
