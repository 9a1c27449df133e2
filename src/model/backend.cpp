// The batch checks shared by every backend.
#include "model/backend.h"

#include <algorithm>
#include <numeric>

#include "runtime/assert.h"
#include "runtime/error.h"

namespace trit::model {

void validate_batch(const HParams& h, std::span<const SequenceInput> batch) {
  if (batch.empty()) trit::fail("no tokens to evaluate");
  for (size_t i = 0; i < batch.size(); ++i) {
    const SequenceInput& in = batch[i];
    TRIT_ASSERT(in.cache != nullptr);
    const int64_t len = static_cast<int64_t>(in.tokens.size());
    if (len == 0) trit::fail("no tokens to evaluate");
    if (in.cache->n_past() + len > in.cache->n_ctx())
      trit::fail("context is full: {} tokens in the cache + {} new > context size {} (use -c to raise it)",
                 in.cache->n_past(), len, in.cache->n_ctx());
    for (int32_t id : in.tokens)
      if (id < 0 || id >= h.n_vocab) trit::fail("token id {} is out of range (vocabulary of {})", id, h.n_vocab);
    for (size_t j = 0; j < i; ++j) TRIT_ASSERT(batch[j].cache != in.cache);
  }
}

void top_logits(std::span<const float> logits, int k, std::vector<float>& out_logits, std::vector<int32_t>& out_ids) {
  TRIT_ASSERT(k >= 1 && static_cast<size_t>(k) <= logits.size());
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  for (int i = 0; i < k; ++i) {
    out_logits.push_back(logits[order[i]]);
    out_ids.push_back(order[i]);
  }
}

std::vector<TopLogits> Backend::eval_top_k(std::span<const SequenceInput> batch, int k) {
  for (const SequenceInput& in : batch)
    if (in.all_logits) trit::fail("eval_top_k takes the last position of each sequence only");
  if (k < 1 || k > model().hparams().n_vocab)
    trit::fail("top-k of {} is out of range (1 to the vocabulary of {})", k, model().hparams().n_vocab);
  const std::vector<std::span<const float>> all = eval(batch);
  top_logits_.clear();
  top_ids_.clear();
  for (const std::span<const float> row : all) top_logits(row, k, top_logits_, top_ids_);
  std::vector<TopLogits> result;
  for (size_t s = 0; s < all.size(); ++s) {
    const size_t at = s * static_cast<size_t>(k);
    result.push_back(
        {{top_logits_.data() + at, static_cast<size_t>(k)}, {top_ids_.data() + at, static_cast<size_t>(k)}});
  }
  return result;
}

}  // namespace trit::model
