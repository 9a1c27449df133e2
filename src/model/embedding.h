// Text embeddings from an embedding model (BitNet-embedding-0.6B / -270M): inputs tokenised as the
// model expects, run together in one forward pass (each with its own KV cache sized to its tokens),
// pooled and L2-normalised (Backend::embed: the CPU's Forward or a GPU backend), and the optional int8 /
// binary output quantisations.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "model/backend.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace trit::model {

// The tokens of one input text: special tokens as the vocabulary asks (BOS for Gemma; the EOS that
// last-token pooling reads for Qwen3, tokenizer.ggml.add_eos_token), special-token text not parsed.
// Throws trit::Error when the text gives no tokens or more than max_tokens (0: no limit).
std::vector<int32_t> embedding_tokens(const tokenizer::Tokenizer& tok, std::string_view text, int64_t max_tokens = 0);

class Embedder {
 public:
  // On the CPU with n_threads. kv_type f16 rounds as llama.cpp does; f32 keeps attention in float.
  explicit Embedder(const Model& model, int n_threads = 0, KvType kv_type = KvType::kF16);
  // On any backend (device::make_backend: the CPU or a GPU).
  Embedder(std::unique_ptr<Backend> backend, KvType kv_type);

  // One vector of n_embd floats per input, every input in one forward pass; each is bit-identical to
  // the input's embedding alone. normalize: divide by the L2 norm (the models' definition).
  // Throws trit::Error for an empty input or an out-of-range token id.
  std::vector<std::vector<float>> embed(std::span<const std::vector<int32_t>> inputs, bool normalize = true);

  int64_t n_embd() const { return backend_->model().hparams().n_embd; }
  Backend& backend() { return *backend_; }

 private:
  std::unique_ptr<Backend> backend_;
  KvType kv_type_;
};

// int8: q[i] = round(x[i] / scale) with scale = max|x| / 127 (per vector), so x ~ q * scale and
// cosine similarity is kept up to rounding. Returns the scale (0 for an all-zero vector).
float quantize_embedding_int8(std::span<const float> x, std::span<int8_t> q);
// binary: one bit per dimension, 1 where x[i] > 0, packed 8 to a byte with the first dimension in the
// most significant bit (numpy.packbits, sentence-transformers' "ubinary"); (n + 7) / 8 bytes.
std::vector<uint8_t> quantize_embedding_binary(std::span<const float> x);

}  // namespace trit::model
