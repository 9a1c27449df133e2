// Sampler: penalties -> (greedy | temperature -> top-k -> top-p -> min-p -> draw).
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "runtime/assert.h"
#include "runtime/error.h"

namespace trit::sampling {

void SamplerParams::validate() const {
  if (!std::isfinite(temperature)) trit::fail("temperature must be a finite number, got {}", temperature);
  if (!(top_p > 0.0f)) trit::fail("top-p must be > 0, got {}", top_p);
  if (!(min_p >= 0.0f && min_p <= 1.0f)) trit::fail("min-p must be within [0, 1], got {}", min_p);
  if (!(repeat_penalty > 0.0f) || !std::isfinite(repeat_penalty))
    trit::fail("repeat penalty must be > 0, got {}", repeat_penalty);
  if (repeat_last_n < -1) trit::fail("repeat-last-n must be >= -1, got {}", repeat_last_n);
  if (!std::isfinite(presence_penalty) || !std::isfinite(frequency_penalty))
    trit::fail("presence and frequency penalties must be finite numbers");
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) { params_.validate(); }

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  const SamplerParams& p = params_;
  // Penalties over the recent window.
  if (p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    const size_t window = p.repeat_last_n < 0 ? history.size() : std::min<size_t>(history.size(), p.repeat_last_n);
    std::unordered_map<int32_t, int> counts;
    for (int32_t id : history.subspan(history.size() - window)) ++counts[id];
    for (const auto& [id, count] : counts) {
      if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
      float& l = logits[id];
      l = l > 0.0f ? l / p.repeat_penalty : l * p.repeat_penalty;
      l -= static_cast<float>(count) * p.frequency_penalty + p.presence_penalty;
    }
  }
  if (p.temperature <= 0.0f) return argmax(logits);

  // Candidates sorted by logit, cut by top-k.
  candidates_.clear();
  for (size_t i = 0; i < logits.size(); ++i) candidates_.emplace_back(logits[i], static_cast<int32_t>(i));
  const size_t k = p.top_k > 0 ? std::min<size_t>(p.top_k, candidates_.size()) : candidates_.size();
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  std::partial_sort(candidates_.begin(), candidates_.begin() + k, candidates_.end(), by_logit);
  candidates_.resize(k);
  return draw();
}

int32_t Sampler::top_needed() const {
  const SamplerParams& p = params_;
  if (p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) return 0;
  if (p.temperature <= 0.0f) return 1;
  return p.top_k > 0 ? p.top_k : 0;
}

int32_t Sampler::sample_top(std::span<const float> logits, std::span<const int32_t> ids) {
  const int32_t needed = top_needed();
  TRIT_ASSERT(needed > 0 && logits.size() == ids.size() && logits.size() >= static_cast<size_t>(needed));
  if (params_.temperature <= 0.0f) return ids[0];
  candidates_.clear();
  for (int32_t i = 0; i < needed; ++i) candidates_.emplace_back(logits[i], ids[i]);
  return draw();
}

int32_t Sampler::draw() {
  const SamplerParams& p = params_;
  // Softmax at the temperature.
  const float max_l = candidates_[0].first;
  double sum = 0.0;
  for (auto& c : candidates_) {
    c.first = std::exp((c.first - max_l) / p.temperature);
    sum += c.first;
  }
  for (auto& c : candidates_) c.first = static_cast<float>(c.first / sum);

  // top-p: the smallest prefix whose mass reaches top_p.
  if (p.top_p < 1.0f) {
    double cum = 0.0;
    size_t keep = candidates_.size();
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cum += candidates_[i].first;
      if (cum >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
    candidates_.resize(keep);
  }
  // min-p: drop tokens less likely than min_p times the most likely one.
  if (p.min_p > 0.0f) {
    const float threshold = candidates_[0].first * p.min_p;
    size_t keep = 1;
    while (keep < candidates_.size() && candidates_[keep].first >= threshold) ++keep;
    candidates_.resize(keep);
  }

  double total = 0.0;
  for (const auto& c : candidates_) total += c.first;
  std::uniform_real_distribution<double> uniform(0.0, total);
  double r = uniform(rng_);
  for (const auto& c : candidates_) {
    r -= c.first;
    if (r <= 0.0) return c.second;
  }
  return candidates_.back().second;
}

}  // namespace trit::sampling
