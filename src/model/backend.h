// What runs the forward pass: the CPU reference and fast kernels (Forward, forward.h) or a GPU backend
// (src/cuda). A Context or the server's scheduler holds a Backend and never needs to know which.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/kv_cache.h"
#include "model/model.h"

namespace trit::model {

struct SequenceInput {
  KvCache* cache;                   // appended to: the tokens go at positions cache->n_past()..
  std::span<const int32_t> tokens;  // at least one
  bool all_logits = false;          // logits of every token, not just the last (eval only)
};

// One sequence's k highest logits, highest first, equal logits with the lower id first (the order
// sampling::Sampler ranks candidates in).
struct TopLogits {
  std::span<const float> logits;
  std::span<const int32_t> ids;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Runs every sequence's tokens and returns, per sequence, the logits of its last token (n_vocab
  // floats) or of all its tokens (n_tokens * n_vocab). Each sequence's results are what it would get
  // alone. The spans stay valid until the next call. Throws trit::Error (before touching any cache)
  // when a cache would overflow or a token id is out of range.
  virtual std::vector<std::span<const float>> eval(std::span<const SequenceInput> batch) = 0;

  // eval's logits of each sequence's last token cut to the k highest (1 <= k <= n_vocab; all_logits
  // must be off). A GPU backend cuts them on the device (sampling's top-k there), so that only k logits
  // per sequence reach the host; the base version cuts eval's logits here. The spans stay valid until
  // the next call.
  virtual std::vector<TopLogits> eval_top_k(std::span<const SequenceInput> batch, int k);
  // The largest k for which eval_top_k picks the top on the device, so is worth calling instead of eval
  // (0: never; the CPU).
  virtual int device_top_k_limit() const { return 0; }
  // Whether eval_top_k(batch, k) picks the top on the device: 1 <= k <= device_top_k_limit(), n_vocab.
  bool picks_top_k(int64_t k) const { return k > 0 && k <= device_top_k_limit() && k <= model().hparams().n_vocab; }

  // For embedding models: one pooled (and optionally L2-normalised) vector per sequence (forward.h).
  virtual std::vector<std::span<const float>> embed(std::span<const SequenceInput> batch, bool normalize) = 0;

  virtual const Model& model() const = 0;
  // "cpu (2 threads)", "cuda:0 NVIDIA H200 (139 GiB)": for logs and `trit bench`.
  virtual std::string device_name() const = 0;

 private:
  std::vector<float> top_logits_;  // the base eval_top_k's results
  std::vector<int32_t> top_ids_;
};

// The k highest of `logits` in TopLogits order, appended to out_logits and out_ids.
void top_logits(std::span<const float> logits, int k, std::vector<float>& out_logits, std::vector<int32_t>& out_ids);

// The checks every backend makes before touching any cache: a non-empty batch of non-empty sequences,
// distinct caches, token ids in the vocabulary and room in every cache. Throws trit::Error.
void validate_batch(const HParams& hparams, std::span<const SequenceInput> batch);

}  // namespace trit::model
