// Embedder: tokenisation, one cache per input, the batched pooled forward pass; output quantisation.
#include "model/embedding.h"

#include <algorithm>
#include <cmath>

#include "model/forward.h"
#include "runtime/assert.h"
#include "runtime/error.h"

namespace trit::model {

std::vector<int32_t> embedding_tokens(const tokenizer::Tokenizer& tok, std::string_view text, int64_t max_tokens) {
  std::vector<int32_t> ids = tok.encode(text, /*add_special=*/true, /*parse_special=*/false);
  if (ids.empty()) trit::fail("an input gives no tokens (empty text and no special tokens to add)");
  if (max_tokens > 0 && static_cast<int64_t>(ids.size()) > max_tokens)
    trit::fail("an input has {} tokens, more than the limit of {}", ids.size(), max_tokens);
  return ids;
}

Embedder::Embedder(const Model& model, int n_threads, KvType kv_type)
    : backend_(std::make_unique<Forward>(model, n_threads)), kv_type_(kv_type) {}

Embedder::Embedder(std::unique_ptr<Backend> backend, KvType kv_type) : backend_(std::move(backend)), kv_type_(kv_type) {
  TRIT_ASSERT(backend_ != nullptr);
}

std::vector<std::vector<float>> Embedder::embed(std::span<const std::vector<int32_t>> inputs, bool normalize) {
  std::vector<std::vector<float>> out;
  if (inputs.empty()) return out;
  const HParams& h = backend_->model().hparams();
  std::vector<KvCache> caches;
  caches.reserve(inputs.size());
  std::vector<SequenceInput> batch;
  for (const auto& tokens : inputs) {
    if (tokens.empty()) trit::fail("an input has no tokens");
    caches.emplace_back(h, static_cast<int64_t>(tokens.size()), kv_type_);
  }
  for (size_t i = 0; i < inputs.size(); ++i) batch.push_back({&caches[i], inputs[i]});
  for (std::span<const float> e : backend_->embed(batch, normalize)) out.emplace_back(e.begin(), e.end());
  return out;
}

float quantize_embedding_int8(std::span<const float> x, std::span<int8_t> q) {
  float max_abs = 0.0f;
  for (float v : x) max_abs = std::max(max_abs, std::fabs(v));
  const float scale = max_abs / 127.0f;
  for (size_t i = 0; i < x.size(); ++i)
    q[i] = scale > 0.0f ? static_cast<int8_t>(std::clamp(std::nearbyint(x[i] / scale), -127.0f, 127.0f)) : 0;
  return scale;
}

std::vector<uint8_t> quantize_embedding_binary(std::span<const float> x) {
  std::vector<uint8_t> bits((x.size() + 7) / 8, 0);
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i] > 0.0f) bits[i / 8] |= static_cast<uint8_t>(0x80u >> (i % 8));
  return bits;
}

}  // namespace trit::model
