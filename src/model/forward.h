// The forward pass over a batch of sequences, each with its own KV cache: all their new tokens go
// through every weight matrix together (one pass over the weights), attention runs per sequence.
// A lone prompt is a batch of one sequence; a server's decode step is one token from each active slot.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/backend.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "runtime/thread_pool.h"

namespace trit::model {

class Forward : public Backend {
 public:
  explicit Forward(const Model& model, int n_threads = 0);

  // Runs every sequence's tokens and returns, per sequence, the logits of its last token (n_vocab
  // floats) or of all its tokens (n_tokens * n_vocab). Each sequence's results are exactly what it
  // would get alone. The spans stay valid until the next call. Throws trit::Error (before touching
  // any cache) when a cache would overflow or a token id is out of range.
  std::vector<std::span<const float>> eval(std::span<const SequenceInput> batch) override;

  // For embedding models: runs every sequence's tokens as eval does and returns, per sequence, one
  // vector of n_embd floats: the final hidden states (after output_norm) of this call's tokens pooled
  // as the file's <arch>.pooling_type says (last token when it says none; mean and cls pool over this
  // call's tokens only, so give each input whole, from an empty cache), then divided by their L2 norm
  // when `normalize`. Each sequence's vector is exactly what it would get alone. The spans stay valid
  // until the next call; throws as eval does.
  std::vector<std::span<const float>> embed(std::span<const SequenceInput> batch, bool normalize = true) override;

  const Model& model() const override { return model_; }
  std::string device_name() const override;
  runtime::ThreadPool& pool() { return pool_; }

 private:
  struct Segment {  // one sequence's rows in the batch
    KvCache* cache;
    int64_t first_row, n_tokens, n_past;
  };
  void attention(int64_t layer, std::span<const Segment> segments, const float* q, float* out);
  // Validates the batch, lays its sequences out as rows and runs every block over them: leaves the
  // final hidden states (before output_norm) in x_ and the layout in segments_.
  void run_layers(std::span<const SequenceInput> batch);

  const Model& model_;
  runtime::ThreadPool pool_;
  std::vector<Segment> segments_;
  std::vector<float> x_;
  struct Scratch {
    std::vector<float> xn, q, k, v, att, o, gate, up, xa, xb;
  } s_;
  std::vector<float> logits_;
  std::vector<float> embeddings_;
};

}  // namespace trit::model
