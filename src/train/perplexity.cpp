// Perplexity over chunks of n_ctx tokens: the negative log-likelihood of the second half of each chunk,
// summed with its square so the final estimate carries llama.cpp's standard error.
#include "train/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "model/context.h"
#include "runtime/error.h"

namespace trit::train {

double token_nll(std::span<const float> logits, int32_t target) {
  float max_logit = logits[0];
  for (float l : logits) max_logit = std::max(max_logit, l);
  double sum_exp = 0.0;
  for (float l : logits) sum_exp += std::exp(static_cast<double>(l) - max_logit);
  return -(static_cast<double>(logits[target]) - max_logit - std::log(sum_exp));
}

int32_t perplexity_first_token(const model::Model& model) {
  const tokenizer::Tokenizer& tok = model.tokenizer();
  const std::vector<int32_t> ids = tok.encode("", /*add_special=*/true, /*parse_special=*/false);
  return !ids.empty() && tok.bos() >= 0 && ids.front() == tok.bos() ? tok.bos() : -1;
}

PerplexityResult perplexity(const model::Model& model, std::span<const int32_t> tokens,
                            const PerplexityOptions& options,
                            const std::function<void(const PerplexityChunk&)>& on_chunk) {
  const int64_t n_ctx = options.n_ctx;
  if (n_ctx < 4) fail("perplexity: the context (-c) must be at least 4 tokens, not {}", n_ctx);
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * n_ctx)
    fail("perplexity: the text tokenizes to only {} tokens; a context of {} needs at least {} (two chunks)", n_tokens,
         n_ctx, 2 * n_ctx);
  const int64_t n_vocab = model.hparams().n_vocab;
  for (int64_t i = 0; i < n_tokens; ++i)
    if (tokens[i] < 0 || tokens[i] >= n_vocab)
      fail("perplexity: token {} (at {}) is outside the model's vocabulary of {}", tokens[i], i, n_vocab);

  const int64_t n_chunk_max = n_tokens / n_ctx;
  const int64_t n_chunk = options.n_chunks < 0 ? n_chunk_max : std::min(options.n_chunks, n_chunk_max);
  const int64_t n_batch = options.n_batch <= 0 ? n_ctx : std::min(options.n_batch, n_ctx);
  const int64_t first = n_ctx / 2;

  model::Context ctx(model, {.n_ctx = n_ctx, .n_threads = options.n_threads, .kv_type = options.kv_type});
  PerplexityResult result;
  double nll = 0.0, nll2 = 0.0;
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  for (int64_t c = 0; c < n_chunk; ++c) {
    const auto start = std::chrono::steady_clock::now();
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
    if (options.first_token >= 0) chunk[0] = options.first_token;
    ctx.reset();
    double chunk_nll = 0.0;
    for (int64_t b = 0; b < n_ctx; b += n_batch) {
      const int64_t n = std::min(n_batch, n_ctx - b);
      const std::span<const float> logits = ctx.eval(std::span<const int32_t>(chunk).subspan(b, n), true);
      // Position p's logits predict token p + 1; positions first .. n_ctx - 2 are scored.
      for (int64_t p = std::max(b, first); p < std::min(b + n, n_ctx - 1); ++p) {
        const double v = token_nll(logits.subspan((p - b) * n_vocab, n_vocab), chunk[p + 1]);
        chunk_nll += v;
        nll += v;
        nll2 += v * v;
      }
    }
    const int64_t n_scored_chunk = n_ctx - first - 1;
    result.n_scored += n_scored_chunk;
    PerplexityChunk info;
    info.index = c;
    info.ppl = std::exp(chunk_nll / static_cast<double>(n_scored_chunk));
    info.running_ppl = std::exp(nll / static_cast<double>(result.n_scored));
    info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.chunks.push_back(info);
    if (on_chunk) on_chunk(info);
  }

  // Standard error of the mean NLL: sqrt((E[v^2] - E[v]^2) / (count - 1)); the PPL's error is ppl times it.
  const auto count = static_cast<double>(result.n_scored);
  result.mean_nll = nll / count;
  result.ppl = std::exp(result.mean_nll);
  const double variance = nll2 / count - result.mean_nll * result.mean_nll;
  result.ppl_error = variance > 0 && count > 1 ? std::sqrt(variance / (count - 1)) * result.ppl : 0.0;
  return result;
}

}  // namespace trit::train
