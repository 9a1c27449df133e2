// The batch checks shared by every backend.
#include "model/backend.h"

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

}  // namespace trit::model
