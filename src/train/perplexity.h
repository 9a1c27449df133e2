// Perplexity of a model on a token sequence, as llama.cpp's llama-perplexity measures it: the tokens cut
// into chunks of n_ctx, each chunk evaluated from an empty cache, its second half scored.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/kv_cache.h"
#include "model/model.h"

namespace trit::train {

struct PerplexityOptions {
  int64_t n_ctx = 512;    // tokens per chunk
  int64_t n_chunks = -1;  // chunks to evaluate; < 0: all whole chunks
  int64_t n_batch = 0;    // tokens per forward call; <= 0: a whole chunk at once
  int n_threads = 0;      // 0: one per physical core
  model::KvType kv_type = model::KvType::kF16;
  // Each chunk's first token is replaced by this one (the BOS token when the vocabulary adds one, as
  // llama.cpp does); < 0: the chunk is evaluated as it is.
  int32_t first_token = -1;
};

struct PerplexityChunk {
  int64_t index = 0;         // 0-based
  double ppl = 0.0;          // this chunk alone
  double running_ppl = 0.0;  // all chunks so far (llama.cpp's "[i]x" values)
  double seconds = 0.0;      // time to evaluate this chunk
};

struct PerplexityResult {
  std::vector<PerplexityChunk> chunks;
  double ppl = 0.0;        // exp(mean NLL) over every scored token
  double ppl_error = 0.0;  // ppl * the standard error of the mean NLL (llama.cpp's "+/-")
  double mean_nll = 0.0;
  int64_t n_scored = 0;  // tokens scored: chunks * (n_ctx - n_ctx/2 - 1)
};

// Scores positions n_ctx/2 .. n_ctx-2 of each chunk (each predicting the next token), so every scored
// token sees at least n_ctx/2 tokens of context. on_chunk, when given, is called after each chunk.
// Throws trit::Error when tokens hold fewer than two chunks, n_ctx is below 4 or a token is out of range.
PerplexityResult perplexity(const model::Model& model, std::span<const int32_t> tokens,
                            const PerplexityOptions& options,
                            const std::function<void(const PerplexityChunk&)>& on_chunk = {});

// The token perplexity() puts first in each chunk for this model: its BOS when the tokenizer adds
// one to a text, else -1.
int32_t perplexity_first_token(const model::Model& model);

// -log softmax(logits)[target], in double precision.
double token_nll(std::span<const float> logits, int32_t target);

}  // namespace trit::train
