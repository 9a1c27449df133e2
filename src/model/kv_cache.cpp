// The KV cache's storage: f32 rows, or f16 keys by position and f16 values transposed (llama.cpp's
// layout without flash attention: one dot product per output dimension).
#include "model/kv_cache.h"

#include <algorithm>

#include "kernels/f16_convert.h"
#include "runtime/assert.h"
#include "runtime/cpu_features.h"
#include "tensor/codec.h"

namespace trit::model {

KvCache::KvCache(const HParams& hparams, int64_t n_ctx, KvType type)
    : n_embd_kv_(hparams.n_embd_kv()), n_ctx_(n_ctx), type_(type) {
  TRIT_ASSERT(n_ctx > 0);
  const size_t n = static_cast<size_t>(n_ctx_ * n_embd_kv_);
  for (int64_t l = 0; l < hparams.n_layer; ++l) {
    if (type_ == KvType::kF32) {
      k_f32_.emplace_back(new float[n]);
      v_f32_.emplace_back(new float[n]);
    } else {
      k_f16_.emplace_back(new uint16_t[n]);
      v_f16_.emplace_back();  // grown on demand (reserve)
    }
  }
}

void KvCache::truncate(int64_t n) {
  TRIT_ASSERT(0 <= n && n <= n_past_);
  n_past_ = n;
}

void KvCache::store(int64_t layer, int64_t pos, const float* k, const float* v) {
  const int64_t n = n_embd_kv_;
  if (type_ == KvType::kF32) {
    std::copy_n(k, n, k_f32_[layer].get() + pos * n);
    std::copy_n(v, n, v_f32_[layer].get() + pos * n);
  } else {
    TRIT_ASSERT(pos < v_stride_);
    kernels::f32_to_f16_row(k, k_f16_[layer].get() + pos * n, n, runtime::active_isa());
    uint16_t* vt = v_f16_[layer].get();
    for (int64_t i = 0; i < n; ++i) vt[i * v_stride_ + pos] = tensor::f32_to_f16(v[i]);
  }
}

// The transposed f16 values ([dim][position]) would touch every page of a full-context cache with the
// first token, so their rows grow with use: capacity doubles (up to n_ctx) and the rows are copied.
void KvCache::reserve(int64_t n_positions) {
  TRIT_ASSERT(n_positions <= n_ctx_);
  if (type_ != KvType::kF16 || n_positions <= v_stride_) return;
  int64_t cap = std::max<int64_t>(v_stride_, 256);
  while (cap < n_positions) cap *= 2;
  cap = std::min(cap, n_ctx_);
  for (auto& layer : v_f16_) {
    std::unique_ptr<uint16_t[]> grown(new uint16_t[static_cast<size_t>(n_embd_kv_ * cap)]);
    if (layer)
      for (int64_t d = 0; d < n_embd_kv_; ++d) std::copy_n(layer.get() + d * v_stride_, n_past_, grown.get() + d * cap);
    layer = std::move(grown);
  }
  v_stride_ = cap;
}

}  // namespace trit::model
