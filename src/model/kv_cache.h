// One sequence's KV cache: every layer's keys (after RoPE) and values for positions 0..n_past-1.
// The forward pass (forward.h) appends to it; a server keeps one per slot.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/hparams.h"

namespace trit::model {

// The cache's element type. F16 (llama.cpp's default) halves its memory and rounds exactly as ggml
// does: keys, values, the query before Q·K and the attention weights before P·V in half precision.
enum class KvType { kF16, kF32 };

class KvCache {
 public:
  // Reserves address space for n_ctx positions; pages become resident only as positions are used.
  KvCache(const HParams& hparams, int64_t n_ctx, KvType type);

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return n_ctx_; }
  KvType type() const { return type_; }
  void reset() { n_past_ = 0; }
  // Forgets everything from position n on (n <= n_past), e.g. to reuse a common prompt prefix.
  void truncate(int64_t n);

  // For the forward pass. Makes room for positions [0, n_positions) (the transposed f16 values grow
  // on demand), then stores one position's keys and values (n_embd_kv floats each).
  void reserve(int64_t n_positions);
  void store(int64_t layer, int64_t pos, const float* k, const float* v);
  void advance(int64_t n) { n_past_ += n; }

  // Keys [position][n_embd_kv]; values [position][n_embd_kv] (f32) or [n_embd_kv][value_stride()] (f16).
  const float* keys_f32(int64_t layer) const { return k_f32_[layer].get(); }
  const float* values_f32(int64_t layer) const { return v_f32_[layer].get(); }
  const uint16_t* keys_f16(int64_t layer) const { return k_f16_[layer].get(); }
  const uint16_t* values_f16(int64_t layer) const { return v_f16_[layer].get(); }
  int64_t value_stride() const { return v_stride_; }

  // Where a GPU backend keeps this cache's keys and values (on the device; the host arrays above stay
  // untouched and so never become resident). Created by the backend on first use; n_past, reset and
  // truncate are shared with it.
  struct DeviceState {
    virtual ~DeviceState() = default;
  };
  DeviceState* device_state() const { return device_.get(); }
  void set_device_state(std::unique_ptr<DeviceState> state) { device_ = std::move(state); }

 private:
  int64_t n_embd_kv_;
  int64_t n_ctx_;
  KvType type_;
  int64_t n_past_ = 0;
  // Allocated without being written, so only the pages of positions in use become resident.
  std::vector<std::unique_ptr<float[]>> k_f32_, v_f32_;
  std::vector<std::unique_ptr<uint16_t[]>> k_f16_, v_f16_;
  int64_t v_stride_ = 0;  // positions per row of the transposed f16 values (their capacity)
  std::unique_ptr<DeviceState> device_;
};

}  // namespace trit::model
