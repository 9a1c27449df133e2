// The reference forward pass of every supported architecture (hparams.h lists how they differ):
//   x = embed(tokens)
//   per layer:  h = x + Wo · subnorm?(attention(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x)))      n = RMSNorm
//               x = h + Wdown · subnorm?(act(Wgate·n(h)) * Wup·n(h))
//   logits = Wout · n(x)
#include "model/context.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "kernels/activations.h"
#include "kernels/bitlinear.h"
#include "kernels/f16_convert.h"
#include "kernels/f16_gemv.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "runtime/assert.h"
#include "runtime/error.h"
#include "tensor/codec.h"

namespace trit::model {
namespace {

float round_f16(float x) { return tensor::f16_to_f32(tensor::f32_to_f16(x)); }

}  // namespace

Context::Context(const Model& model, const ContextOptions& options)
    : model_(model), pool_(options.n_threads), kv_type_(options.kv_type) {
  const HParams& h = model.hparams();
  n_ctx_ = options.n_ctx > 0 ? options.n_ctx : std::min<int64_t>(h.n_ctx_train, 4096);
  const size_t n = static_cast<size_t>(n_ctx_ * h.n_embd_kv());
  for (int64_t l = 0; l < h.n_layer; ++l) {
    if (kv_type_ == KvType::kF32) {
      k_cache_.emplace_back(new float[n]);
      v_cache_.emplace_back(new float[n]);
    } else {
      k_cache_f16_.emplace_back(new uint16_t[n]);
      v_cache_f16_.emplace_back();  // grown on demand (reserve_values)
    }
  }
}

void Context::store_kv(int64_t layer, int64_t pos, const float* k, const float* v) {
  const int64_t n = model_.hparams().n_embd_kv();
  if (kv_type_ == KvType::kF32) {
    std::copy_n(k, n, k_cache_[layer].get() + pos * n);
    std::copy_n(v, n, v_cache_[layer].get() + pos * n);
  } else {
    const runtime::IsaLevel isa = runtime::active_isa();
    kernels::f32_to_f16_row(k, k_cache_f16_[layer].get() + pos * n, n, isa);
    uint16_t* vt = v_cache_f16_[layer].get();
    for (int64_t i = 0; i < n; ++i) vt[i * v_stride_ + pos] = tensor::f32_to_f16(v[i]);
  }
}

// The transposed f16 values ([dim][position]) would touch every page of a full-context cache with the
// first token, so their rows grow with use: capacity doubles (up to n_ctx) and the rows are copied.
void Context::reserve_values(int64_t n_positions) {
  if (kv_type_ != KvType::kF16 || n_positions <= v_stride_) return;
  int64_t cap = std::max<int64_t>(v_stride_, 256);
  while (cap < n_positions) cap *= 2;
  cap = std::min(cap, n_ctx_);
  const int64_t n_dims = model_.hparams().n_embd_kv();
  for (auto& layer : v_cache_f16_) {
    std::unique_ptr<uint16_t[]> grown(new uint16_t[static_cast<size_t>(n_dims * cap)]);
    if (layer)
      for (int64_t d = 0; d < n_dims; ++d) std::copy_n(layer.get() + d * v_stride_, n_past_, grown.get() + d * cap);
    layer = std::move(grown);
  }
  v_stride_ = cap;
}

void Context::truncate(int64_t n) {
  TRIT_ASSERT(0 <= n && n <= n_past_);
  n_past_ = n;
}

// Causal attention of n_tokens new queries (positions n_past_..) over the cache; heads in parallel.
// Query head h reads KV head h / (n_head / n_head_kv) (grouped-query attention).
void Context::attention(int64_t layer, int64_t n_tokens, const float* q, float* out) {
  const HParams& h = model_.hparams();
  const int64_t group = h.n_head / h.n_head_kv;
  const int64_t hd = h.head_dim;
  const int64_t ld = h.n_embd_kv();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool f16 = kv_type_ == KvType::kF16;
  const runtime::IsaLevel isa = runtime::active_isa();
  const int64_t n_all = n_past_ + n_tokens;
  pool_.parallel_for(h.n_head, [&](int64_t h0, int64_t h1) {
    std::vector<float> scores(static_cast<size_t>(n_all));
    std::vector<float> qh(hd);
    std::vector<uint16_t> q16(hd);
    std::vector<float> keys, values, row;  // a batch's f32 copies of this head's cache, [position][dim]
    for (int64_t head = h0; head < h1; ++head) {
      const int64_t kv_off = (head / group) * hd;
      if (f16 && n_tokens > 1) {
        keys.resize(static_cast<size_t>(n_all * hd));
        values.resize(static_cast<size_t>(n_all * hd));
        for (int64_t p = 0; p < n_all; ++p)
          kernels::f16_to_f32_row(k_cache_f16_[layer].get() + p * ld + kv_off, keys.data() + p * hd, hd, isa);
        row.resize(static_cast<size_t>(n_all));
        for (int64_t d = 0; d < hd; ++d) {  // the cache holds values transposed
          kernels::f16_to_f32_row(v_cache_f16_[layer].get() + (kv_off + d) * v_stride_, row.data(), n_all, isa);
          for (int64_t p = 0; p < n_all; ++p) values[p * hd + d] = row[p];
        }
      }
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* query = q + t * h.n_embd_q() + head * hd;
        const int64_t n_keys = n_past_ + t + 1;
        float* oh = out + t * h.n_embd_q() + head * hd;
        if (f16) {
          // As ggml: the query rounded to f16 for Q·K over f16 keys. A single new token then goes
          // through ggml_vec_dot_f16 (its order, the weights rounded to f16 before P·V); a batch goes
          // through an f32 GEMM, so here through f32 copies of the cache.
          kernels::f32_to_f16_row(query, q16.data(), hd, isa);
          kernels::f16_to_f32_row(q16.data(), qh.data(), hd, isa);
          query = qh.data();
        }
        if (f16 && n_tokens == 1) {
          kernels::f16_gemv({k_cache_f16_[layer].get() + kv_off, hd, query, scores.data(), 0, n_keys, ld}, isa);
          for (int64_t p = 0; p < n_keys; ++p) scores[p] *= scale;
          kernels::softmax(scores.data(), n_keys);
          for (int64_t p = 0; p < n_keys; ++p) scores[p] = round_f16(scores[p]);
          // Values are cached transposed ([dim][position], as llama.cpp caches them without flash
          // attention), so each output is one f16 dot product over the positions.
          kernels::f16_gemv(
              {v_cache_f16_[layer].get() + kv_off * v_stride_, n_keys, scores.data(), oh, 0, hd, v_stride_}, isa);
          continue;
        }
        // Float math: over the f32 cache, or over a batch's f32 copies of the f16 cache.
        const float* kf = f16 ? keys.data() : k_cache_[layer].get() + kv_off;
        const float* vf = f16 ? values.data() : v_cache_[layer].get() + kv_off;
        const int64_t stride = f16 ? hd : ld;
        kernels::f32_gemv({kf, hd, query, scores.data(), 0, n_keys, stride}, isa);
        for (int64_t p = 0; p < n_keys; ++p) scores[p] *= scale;
        kernels::softmax(scores.data(), n_keys);
        // P·V as a sum of value rows (every lane independent: vectorises, same result at every level).
        std::fill(oh, oh + hd, 0.0f);
        for (int64_t p = 0; p < n_keys; ++p) {
          const float w = scores[p];
          const float* vp = vf + p * stride;
          for (int64_t d = 0; d < hd; ++d) oh[d] += w * vp[d];
        }
      }
    }
  });
}

std::span<const float> Context::eval(std::span<const int32_t> tokens, bool all_logits) {
  const HParams& h = model_.hparams();
  const Weights& w = model_.weights();
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) trit::fail("no tokens to evaluate");
  if (n_past_ + n > n_ctx_)
    trit::fail("context is full: {} tokens in the cache + {} new > context size {} (use -c to raise it)", n_past_, n,
               n_ctx_);
  for (int32_t id : tokens)
    if (id < 0 || id >= h.n_vocab) trit::fail("token id {} is out of range (vocabulary of {})", id, h.n_vocab);
  reserve_values(n_past_ + n);

  const int64_t d = h.n_embd;
  std::vector<float> x(n * d), xn(n * d), q(n * h.n_embd_q()), k(n * h.n_embd_kv()), v(n * h.n_embd_kv()),
      att(n * h.n_embd_q()), o(n * d), gate(n * h.n_ff), up(n * h.n_ff);
  for (int64_t t = 0; t < n; ++t) w.token_embd.row(tokens[t], x.data() + t * d);

  kernels::RopeParams rope = h.rope;
  if (!w.rope_freqs.empty()) rope.freq_factors = w.rope_freqs.data();

  // Per-token work, spread over the threads for a batch.
  auto per_token = [&](const std::function<void(int64_t)>& fn) {
    if (n == 1) return fn(0);
    pool_.parallel_for(n, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) fn(t);
    });
  };

  for (int64_t l = 0; l < h.n_layer; ++l) {
    const LayerWeights& lw = w.layers[l];
    // Attention block.
    per_token(
        [&](int64_t t) { kernels::rms_norm(x.data() + t * d, lw.attn_norm.data(), xn.data() + t * d, d, h.rms_eps); });
    forward_shared_input({{&lw.wq, q.data()}, {&lw.wk, k.data()}, {&lw.wv, v.data()}}, xn.data(), n, pool_);
    per_token([&](int64_t t) {
      const int64_t pos = n_past_ + t;
      for (int64_t hd = 0; hd < h.n_head; ++hd) kernels::rope(q.data() + t * h.n_embd_q() + hd * h.head_dim, pos, rope);
      for (int64_t hd = 0; hd < h.n_head_kv; ++hd)
        kernels::rope(k.data() + t * h.n_embd_kv() + hd * h.head_dim, pos, rope);
      store_kv(l, pos, k.data() + t * h.n_embd_kv(), v.data() + t * h.n_embd_kv());
    });
    attention(l, n, q.data(), att.data());
    if (h.traits.sub_norms)
      per_token([&](int64_t t) {
        kernels::rms_norm(att.data() + t * h.n_embd_q(), lw.attn_sub_norm.data(), att.data() + t * h.n_embd_q(),
                          h.n_embd_q(), h.rms_eps);
      });
    lw.wo.forward(att.data(), n, o.data(), pool_);
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];

    // Feed-forward block.
    per_token(
        [&](int64_t t) { kernels::rms_norm(x.data() + t * d, lw.ffn_norm.data(), xn.data() + t * d, d, h.rms_eps); });
    forward_shared_input({{&lw.ffn_gate, gate.data()}, {&lw.ffn_up, up.data()}}, xn.data(), n, pool_);
    per_token([&](int64_t t) {
      float* g = gate.data() + t * h.n_ff;
      kernels::gated_activation(g, up.data() + t * h.n_ff, h.n_ff, h.ffn_act);
      if (h.traits.sub_norms) kernels::rms_norm(g, lw.ffn_sub_norm.data(), g, h.n_ff, h.rms_eps);
    });
    lw.ffn_down.forward(gate.data(), n, o.data(), pool_);
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];
  }
  n_past_ += n;

  // Output: the last token's logits, or every token's.
  const int64_t first = all_logits ? 0 : n - 1;
  const int64_t n_out = n - first;
  for (int64_t t = first; t < n; ++t)
    kernels::rms_norm(x.data() + t * d, w.output_norm.data(), xn.data() + (t - first) * d, d, h.rms_eps);
  logits_.resize(static_cast<size_t>(n_out * h.n_vocab));
  w.output.forward(xn.data(), n_out, logits_.data(), pool_);
  return logits_;
}

}  // namespace trit::model
