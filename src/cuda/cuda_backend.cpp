// CudaBackend: batches laid out as rows, kernels enqueued in the order of the CPU forward pass
// (model/forward.cpp), decode steps replayed as graphs.
#include "cuda/cuda_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kernels/rope.h"
#include "model/pooling.h"
#include "runtime/assert.h"
#include "runtime/error.h"

namespace trit::cuda {
namespace {

// A sequence's keys and values on the device: [layer][position][n_embd_kv], half or float.
struct DeviceKv : model::KvCache::DeviceState {
  DeviceBuffer k, v;
  int64_t layer_stride = 0;
  bool f16 = true;
};

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

std::string describe(int device) {
  cudaDeviceProp p{};
  TRIT_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  return fmt::format("cuda:{} {} ({:.0f} GiB, sm_{}{})", device, p.name,
                     static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024 * 1024), p.major, p.minor);
}

}  // namespace

struct CudaBackend::Step {
  int64_t n = 0, n_out = 0;
  bool f16 = true;
  bool decode_only = false;  // one new token per sequence and only its logits
  bool persistent = false;   // its layers as decode_step (use_persistent)
  // Steps with flash attention: the long prompts' rows in tiles, the other rows listed for the row kernel.
  int64_t n_tiles = 0, n_single = 0;
  std::vector<int64_t> out_rows_per_seq;
};

namespace {

// Where the parts of a step's upload start: row descriptors at 0, then the output rows, the flash
// attention tiles and the rows left to the row kernel; `end` is where a step of these sizes ends.
struct StepLayout {
  size_t out_rows, tiles, singles, end;
};

StepLayout step_layout(int64_t n, int64_t n_out, int64_t n_tiles, int64_t n_single) {
  StepLayout s{};
  s.out_rows = static_cast<size_t>(n) * sizeof(RowDesc);
  s.tiles = static_cast<size_t>(round_up(static_cast<int64_t>(s.out_rows) + n_out * 4, 8));
  s.singles = s.tiles + static_cast<size_t>(n_tiles) * sizeof(AttnTile);
  s.end = s.singles + static_cast<size_t>(n_single) * sizeof(int32_t);
  return s;
}

}  // namespace

std::vector<std::string> list_devices(std::string* why_none) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  std::vector<std::string> out;
  if (status != cudaSuccess) {
    if (why_none) *why_none = cudaGetErrorString(status);
    cudaGetLastError();  // clear it
    return out;
  }
  for (int d = 0; d < count; ++d) out.push_back(describe(d));
  if (out.empty() && why_none) *why_none = "no CUDA device";
  return out;
}

CudaBackend::CudaBackend(const model::Model& model, const CudaOptions& options) : model_(model), options_(options) {
  std::string why;
  const std::vector<std::string> devices = list_devices(&why);
  if (devices.empty()) trit::fail("--device cuda: no usable GPU ({})", why);
  if (options.device < 0 || options.device >= static_cast<int>(devices.size()))
    trit::fail("--device cuda:{}: there are {} CUDA devices", options.device, devices.size());
  TRIT_CUDA_CHECK(cudaSetDevice(options.device));
  name_ = devices[static_cast<size_t>(options.device)];
  flash_ = options.flash_min_tokens > 0 && flash_attention_reserve(static_cast<int>(model.hparams().head_dim));
  TRIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  weights_ = DeviceWeights::upload(model, options.show_progress);
  if (options.persistent_decode) {
    // decode_step takes what the common path takes with every projection ternary and fused, and none of
    // the embedding models' extra norms or Gemma's sliding window.
    const model::HParams& h = model.hparams();
    bool fits = h.n_swa == 0;
    std::vector<DecodeLayer> layers;
    for (const DeviceLayer& L : weights_.layers) {
      fits = fits && L.qkv.size() == 1 && L.gate_up.size() == 1 && L.qkv[0].ternary && L.gate_up[0].ternary &&
             L.wo.ternary && L.down.ternary && !L.has_norm_in() && !L.attn_q_norm && !L.attn_k_norm &&
             !L.post_attn_norm && !L.post_ffw_norm;
      if (!fits) break;
      layers.push_back(
          {L.attn_norm, L.attn_sub_norm, L.ffn_norm, L.ffn_sub_norm, L.qkv[0].t, L.wo.t, L.gate_up[0].t, L.down.t});
    }
    if (fits) {
      persistent_layers_ = DeviceBuffer(layers.size() * sizeof(DecodeLayer));
      persistent_layers_.upload(layers.data(), layers.size() * sizeof(DecodeLayer));
      persistent_ = true;
    }
  }
}

bool CudaBackend::use_persistent(const Step& step) {
  if (!persistent_ || !step.decode_only || step.n != 1) return false;
  if (persistent_ctx_ != ctx_capacity_) {  // the scores' shared memory grows with the context
    const model::HParams& h = model_.hparams();
    const int widest = static_cast<int>(round_up(std::max({h.n_embd, h.n_embd_q(), h.n_ff}), 128));
    persistent_blocks_ = decode_step_reserve(widest, static_cast<int>(h.head_dim), static_cast<int>(ctx_capacity_));
    if (persistent_blocks_ == 0) {
      persistent_ = false;  // this device cannot run it: the per-kernel path from now on
      return false;
    }
    persistent_ctx_ = ctx_capacity_;
  }
  return true;
}

CudaBackend::~CudaBackend() {
  clear_graphs();
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaBackend::clear_graphs() {
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
}

void CudaBackend::ensure_capacity(int64_t rows, int64_t out_rows) {
  if (rows <= capacity_ && out_rows <= out_capacity_) return;
  clear_graphs();
  const model::HParams& h = model_.hparams();
  const int64_t cap = std::max(capacity_, rows <= 64 ? int64_t{64} : round_up(rows, 256));
  const int64_t out_cap = std::max(out_capacity_, out_rows <= 64 ? int64_t{64} : round_up(out_rows, 256));
  const int64_t widest = std::max({h.n_embd, h.n_ff, h.n_embd_q()});
  auto floats = [](int64_t n) { return static_cast<size_t>(n) * sizeof(float); };
  x_ = DeviceBuffer(floats(cap * h.n_embd));
  qkv_ = DeviceBuffer(floats(cap * (h.n_embd_q() + 2 * h.n_embd_kv())));
  att_ = DeviceBuffer(floats(cap * h.n_embd_q()));
  gate_up_ = DeviceBuffer(floats(cap * 2 * h.n_ff));
  normed_ = DeviceBuffer(floats(cap * widest));
  xn_ = DeviceBuffer(floats(cap * widest));
  o_ = DeviceBuffer(floats(cap * h.n_embd));
  const int64_t padded = std::max<int64_t>(weights_.max_padded_cols, round_up(widest, 128));
  q_ = DeviceBuffer(static_cast<size_t>(std::max(cap, out_cap) * padded));
  q_scale_ = DeviceBuffer(floats(std::max(cap, out_cap)));
  q_sum_ = DeviceBuffer(static_cast<size_t>(std::max(cap, out_cap)) * sizeof(int32_t));
  xo_ = DeviceBuffer(floats(out_cap * h.n_embd));
  logits_ = DeviceBuffer(floats(out_cap * h.n_vocab));
  ids_ = DeviceBuffer(static_cast<size_t>(out_cap) * sizeof(int32_t));
  const size_t top_n = static_cast<size_t>(out_cap) * kMaxTopK;
  top_scratch_ = DeviceBuffer(top_k_scratch_bytes(static_cast<int>(out_cap), static_cast<int>(h.n_vocab), kMaxTopK));
  top_logits_ = DeviceBuffer(top_n * sizeof(float));
  top_ids_ = DeviceBuffer(top_n * sizeof(int32_t));
  capacity_ = cap;
  out_capacity_ = out_cap;
  step_ = DeviceBuffer(step_layout(cap, out_cap, cap, cap).end);
  step_host_ = PinnedBuffer(step_x_offset() + floats(cap * h.n_embd));
  logits_host_ = PinnedBuffer(floats(out_cap * h.n_vocab));
  hidden_host_ = PinnedBuffer(floats(cap * h.n_embd));
  ids_host_ = PinnedBuffer(static_cast<size_t>(out_cap) * sizeof(int32_t));
  top_logits_host_ = PinnedBuffer(top_n * sizeof(float));
  top_ids_host_ = PinnedBuffer(top_n * sizeof(int32_t));
}

size_t CudaBackend::step_x_offset() const {
  return static_cast<size_t>(
      round_up(static_cast<int64_t>(step_layout(capacity_, out_capacity_, capacity_, capacity_).end), 64));
}

void CudaBackend::ensure_context(int64_t n_ctx) {
  if (n_ctx <= ctx_capacity_) return;
  clear_graphs();
  const model::HParams& h = model_.hparams();
  if (!attention_reserve(static_cast<int>(n_ctx)))
    trit::fail("--device cuda: a context of {} positions does not fit the attention kernel's shared memory on {}",
               n_ctx, name_);
  kernels::RopeParams rope = h.rope;
  if (!model_.weights().rope_freqs.empty()) rope.freq_factors = model_.weights().rope_freqs.data();
  // The CPU's own angle computation, so that positions rotate bit for bit as there.
  auto tables = [&](const kernels::RopeParams& params, DeviceBuffer& cos_d, DeviceBuffer& sin_d) {
    const int64_t half = params.n_rot / 2;
    std::vector<float> cos_t(static_cast<size_t>(n_ctx * half)), sin_t(static_cast<size_t>(n_ctx * half));
    for (int64_t p = 0; p < n_ctx; ++p)
      kernels::rope_angles(p, params, cos_t.data() + p * half, sin_t.data() + p * half);
    cos_d = DeviceBuffer(cos_t.size() * sizeof(float));
    cos_d.upload(cos_t.data(), cos_t.size() * sizeof(float));
    sin_d = DeviceBuffer(sin_t.size() * sizeof(float));
    sin_d.upload(sin_t.data(), sin_t.size() * sizeof(float));
  };
  tables(rope, rope_cos_, rope_sin_);
  if (h.n_swa > 0) {  // sliding-window layers rotate with their own base, unscaled (as the CPU)
    kernels::RopeParams swa = rope;
    swa.freq_base = h.rope_freq_base_swa;
    swa.freq_scale = 1.0f;
    tables(swa, rope_swa_cos_, rope_swa_sin_);
  }
  ctx_capacity_ = n_ctx;
}

void CudaBackend::prepare(std::span<const model::SequenceInput> batch, Step& step) {
  const model::HParams& h = model_.hparams();
  model::validate_batch(h, batch);
  TRIT_CUDA_CHECK(cudaSetDevice(options_.device));  // the calling thread may be new (the server's loop)
  step = Step{};
  step.f16 = batch[0].cache->type() == model::KvType::kF16;
  step.decode_only = true;
  int64_t max_ctx = 0;
  for (const model::SequenceInput& in : batch) {
    if ((in.cache->type() == model::KvType::kF16) != step.f16)
      trit::fail("--device cuda: one batch cannot mix f16 and f32 KV caches");
    const int64_t len = static_cast<int64_t>(in.tokens.size());
    const int64_t outs = in.all_logits ? len : 1;
    step.n += len;
    step.n_out += outs;
    step.out_rows_per_seq.push_back(outs);
    step.decode_only = step.decode_only && len == 1;
    max_ctx = std::max(max_ctx, in.cache->n_ctx());
  }
  ensure_capacity(step.n, step.n_out);
  ensure_context(max_ctx);
  step.persistent = use_persistent(step);

  const int64_t kv = h.n_embd_kv();
  // Flash attention over an f16 cache: the sequences with at least flash_min_tokens new tokens cut into
  // runs of kAttnTileRows rows; the other rows (lone new tokens keep the f16 rounding of their attention
  // weights there) go to the one-row kernel by a row list.
  auto tiled = [&](const model::SequenceInput& in) {
    const int64_t len = static_cast<int64_t>(in.tokens.size());
    return flash_ && step.f16 && len > 1 && len >= options_.flash_min_tokens;
  };
  if (std::any_of(batch.begin(), batch.end(), tiled)) {
    for (const model::SequenceInput& in : batch) {
      const int64_t len = static_cast<int64_t>(in.tokens.size());
      if (tiled(in))
        step.n_tiles += (len + kAttnTileRows - 1) / kAttnTileRows;
      else
        step.n_single += len;
    }
  }
  const StepLayout layout = step_layout(step.n, step.n_out, step.n_tiles, step.n_single);
  auto* descs = step_host_.get<RowDesc>();
  auto* out_rows = reinterpret_cast<int32_t*>(step_host_.get<char>() + layout.out_rows);
  auto* tiles = reinterpret_cast<AttnTile*>(step_host_.get<char>() + layout.tiles);
  auto* singles = reinterpret_cast<int32_t*>(step_host_.get<char>() + layout.singles);
  int64_t n_tiles = 0, n_single = 0;
  const size_t x_offset = step_x_offset();
  float* x = reinterpret_cast<float*>(step_host_.get<char>() + x_offset);
  const float embd_scale = std::sqrt(static_cast<float>(h.n_embd));
  int64_t r = 0, o = 0;
  for (const model::SequenceInput& in : batch) {
    auto* state = dynamic_cast<DeviceKv*>(in.cache->device_state());
    if (state == nullptr) {  // first use of this cache on the GPU
      auto fresh = std::make_unique<DeviceKv>();
      fresh->f16 = step.f16;
      fresh->layer_stride = in.cache->n_ctx() * kv;
      const size_t bytes = static_cast<size_t>(h.n_layer * fresh->layer_stride) * (step.f16 ? 2 : 4);
      fresh->k = DeviceBuffer(bytes);
      fresh->v = DeviceBuffer(bytes);
      state = fresh.get();
      in.cache->set_device_state(std::move(fresh));
    }
    const int64_t len = static_cast<int64_t>(in.tokens.size());
    if (step.n_tiles > 0) {
      if (!tiled(in))
        for (int64_t t = 0; t < len; ++t) singles[n_single++] = static_cast<int32_t>(r + t);
      else
        for (int64_t t = 0; t < len; t += kAttnTileRows)
          tiles[n_tiles++] = {static_cast<int32_t>(r + t),
                              static_cast<int32_t>(std::min<int64_t>(kAttnTileRows, len - t))};
    }
    for (int64_t t = 0; t < len; ++t, ++r) {
      descs[r] = {static_cast<int32_t>(in.cache->n_past() + t), len == 1 ? 1 : 0, state->layer_stride, state->k.get(),
                  state->v.get()};
      float* e = x + r * h.n_embd;
      model_.weights().token_embd.row(in.tokens[static_cast<size_t>(t)], e);
      if (h.traits.embd_scale)  // Gemma: as the CPU scales them
        for (int64_t i = 0; i < h.n_embd; ++i) e[i] *= embd_scale;
      if (in.all_logits || t == len - 1) out_rows[o++] = static_cast<int32_t>(r);
    }
  }
  TRIT_ASSERT(r == step.n && o == step.n_out && n_tiles == step.n_tiles && n_single == step.n_single);
}

void CudaBackend::enqueue(const Step& step, Output output) {
  const model::HParams& h = model_.hparams();
  const int n = static_cast<int>(step.n), n_out = static_cast<int>(step.n_out);
  const int d = static_cast<int>(h.n_embd), hd_q = static_cast<int>(h.n_embd_q());
  const int n_ff = static_cast<int>(h.n_ff), n_vocab = static_cast<int>(h.n_vocab);
  const int ld_qkv = hd_q + 2 * static_cast<int>(h.n_embd_kv());
  const float eps = h.rms_eps;

  const StepLayout layout = step_layout(n, n_out, step.n_tiles, step.n_single);
  const size_t x_offset = step_x_offset();
  TRIT_CUDA_CHECK(cudaMemcpyAsync(step_.get(), step_host_.get(), layout.end, cudaMemcpyHostToDevice, stream_));
  TRIT_CUDA_CHECK(cudaMemcpyAsync(x_.get(), step_host_.get<char>() + x_offset,
                                  static_cast<size_t>(n) * d * sizeof(float), cudaMemcpyHostToDevice, stream_));
  const RowDesc* rows = step_.get<RowDesc>();
  const int32_t* out_rows = reinterpret_cast<const int32_t*>(step_.get<char>() + layout.out_rows);
  const AttnTile* tiles = reinterpret_cast<const AttnTile*>(step_.get<char>() + layout.tiles);
  const int32_t* singles = reinterpret_cast<const int32_t*>(step_.get<char>() + layout.singles);

  auto quant = [&](int cols) {
    return QuantizedRows{q_.get<int8_t>(), q_scale_.get<float>(), q_sum_.get<int32_t>(),
                         static_cast<int>(round_up(cols, 128))};
  };
  float* x = x_.get<float>();
  float* normed = normed_.get<float>();
  // One projection: ternary from the int8 rows, or half precision from the normed float rows.
  auto linear = [&](const DeviceLinear& lin, const QuantizedRows& q, int cols, int rows_n, float* y, int ld_y,
                    bool accumulate) {
    if (lin.ternary)
      ternary_matmul(lin.t, q, rows_n, y, ld_y, accumulate, stream_);
    else
      f16_matmul(lin.f16, lin.rows, cols, normed, cols, rows_n, y, ld_y, accumulate, stream_);
  };
  const float scale = h.attn_scale > 0.0f ? h.attn_scale : 1.0f / std::sqrt(static_cast<float>(h.head_dim));

  float* xn = xn_.get<float>();
  // RMSNorm by `first` (or none) then by `second` (or none), fused into the int8 rounding of q: the
  // embedding models chain two norms (a block's norm, then the projection's own), the others one.
  auto quantize_normed = [&](const float* in, int ld, int cols, const float* first, const float* second,
                             const QuantizedRows& q, float* keep) {
    if (first && second) {
      rms_norm_rows(in, ld, cols, n, first, eps, xn, cols, false, stream_);
      quantize_rows(xn, cols, cols, n, second, eps, q, keep, cols, stream_);
    } else {
      quantize_rows(in, ld, cols, n, first ? first : second, eps, q, keep, cols, stream_);
    }
  };
  // A block's input projections (Q/K/V or gate/up, fused or not) into out at successive columns: the
  // block's norm of x, then (the embedding models) each part's own norm of those normed rows.
  auto project = [&](const float* block_norm, const std::vector<DeviceLinear>& parts, const float* const* norm_in,
                     float* out, int ld_out, float* keep) {
    const QuantizedRows q = quant(d);
    const bool own_norms = norm_in[0] != nullptr;
    if (own_norms)
      rms_norm_rows(x, d, d, n, block_norm, eps, xn, d, false, stream_);
    else
      quantize_rows(x, d, d, n, block_norm, eps, q, keep, d, stream_);
    int col = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (own_norms) quantize_rows(xn, d, d, n, norm_in[i], eps, q, keep, d, stream_);
      linear(parts[i], q, d, n, out + col, ld_out, false);
      col += parts[i].rows;
    }
  };
  // A block's output into the residual: accumulated by the projection, or (Gemma's post-norms) written
  // apart, normed, then added.
  auto residual = [&](const DeviceLinear& lin, const QuantizedRows& q, int cols, const float* post_norm) {
    if (post_norm == nullptr) {
      linear(lin, q, cols, n, x, d, true);
    } else {
      linear(lin, q, cols, n, o_.get<float>(), d, false);
      rms_norm_rows(o_.get<float>(), d, d, n, post_norm, eps, x, d, true, stream_);
    }
  };

  // RoPE and the cache store, and attention, for a layer (its own tables and window when it slides).
  auto rope_args = [&](int64_t l) {
    const bool swa = h.is_swa_layer(l);
    return RopeStoreArgs{qkv_.get<float>(),
                         ld_qkv,
                         n,
                         static_cast<int>(h.n_head),
                         static_cast<int>(h.n_head_kv),
                         static_cast<int>(h.head_dim),
                         static_cast<int>(h.rope.n_rot),
                         h.rope.style == kernels::RopeStyle::kNeox,
                         (swa ? rope_swa_cos_ : rope_cos_).get<float>(),
                         (swa ? rope_swa_sin_ : rope_sin_).get<float>(),
                         rows,
                         static_cast<int>(l),
                         step.f16};
  };
  auto attention_args = [&](int64_t l) {
    return AttentionArgs{qkv_.get<float>(),
                         ld_qkv,
                         n,
                         static_cast<int>(h.n_head),
                         static_cast<int>(h.n_head_kv),
                         static_cast<int>(h.head_dim),
                         scale,
                         h.is_swa_layer(l) ? static_cast<int>(h.n_swa) : 0,
                         rows,
                         static_cast<int>(l),
                         step.f16,
                         static_cast<int>(ctx_capacity_),
                         att_.get<float>(),
                         hd_q};
  };

  if (step.persistent) {  // one sequence's decode token: every layer in one launch (the layer index is its own)
    decode_step(
        {persistent_layers_.get<DecodeLayer>(), static_cast<int>(h.n_layer), x, qkv_.get<float>(), att_.get<float>(),
         gate_up_.get<float>(), d, hd_q, n_ff, eps, glu_act(h.ffn_act), rope_args(0), attention_args(0)},
        persistent_blocks_, stream_);
  } else {  // kernel after kernel
    for (int64_t l = 0; l < h.n_layer; ++l) {
      const DeviceLayer& L = weights_.layers[static_cast<size_t>(l)];
      float* keep = L.needs_float_input ? normed : nullptr;
      // Attention block: Q/K/V, per-head norms and RoPE, the cache store, attention, the output projection.
      project(L.attn_norm, L.qkv, L.norm_in + kNormInQ, qkv_.get<float>(), ld_qkv, keep);
      RopeStoreArgs rope = rope_args(l);
      rope.q_norm = L.attn_q_norm;
      rope.k_norm = L.attn_k_norm;
      rope.norm_eps = eps;
      rope_store(rope, stream_);
      AttentionArgs att = attention_args(l);
      if (step.n_tiles > 0) {  // long prompts in tiles, the other rows by the one-row kernel
        flash_attention(att, tiles, static_cast<int>(step.n_tiles), stream_);
        att.n = static_cast<int>(step.n_single);
        att.row_list = singles;
      }
      attention(att, stream_);
      QuantizedRows q = quant(hd_q);
      quantize_normed(att_.get<float>(), hd_q, hd_q, L.attn_sub_norm, L.norm_in[kNormInO], q, keep);
      residual(L.wo, q, hd_q, L.post_attn_norm);

      // Feed-forward block: gate and up, the gated activation with its sub-norm(s), down.
      project(L.ffn_norm, L.gate_up, L.norm_in + kNormInGate, gate_up_.get<float>(), 2 * n_ff, keep);
      q = quant(n_ff);
      if (L.norm_in[kNormInDown]) {  // act(gate) * up, its sub-norm, then down's own norm
        glu_quantize_rows(gate_up_.get<float>(), 2 * n_ff, n_ff, n, glu_act(h.ffn_act), L.ffn_sub_norm, eps, q, xn,
                          n_ff, stream_);
        quantize_rows(xn, n_ff, n_ff, n, L.norm_in[kNormInDown], eps, q, keep, n_ff, stream_);
      } else {
        glu_quantize_rows(gate_up_.get<float>(), 2 * n_ff, n_ff, n, glu_act(h.ffn_act), L.ffn_sub_norm, eps, q, keep,
                          n_ff, stream_);
      }
      residual(L.down, q, n_ff, L.post_ffw_norm);
    }
  }
  if (output.kind == Output::kHidden) {  // embeddings: the final hidden rows go to the host for pooling
    TRIT_CUDA_CHECK(cudaMemcpyAsync(hidden_host_.get(), x, static_cast<size_t>(n) * d * sizeof(float),
                                    cudaMemcpyDeviceToHost, stream_));
    return;
  }
  // Output: the rows that want logits, normed, through the output projection.
  gather_rms_norm(x, d, out_rows, n_out, d, weights_.output_norm, eps, xo_.get<float>(), stream_);
  const DeviceLinear& out = weights_.output;
  if (out.ternary) {
    const QuantizedRows q = quant(d);
    quantize_rows(xo_.get<float>(), d, d, n_out, nullptr, eps, q, nullptr, d, stream_);
    ternary_matmul(out.t, q, n_out, logits_.get<float>(), n_vocab, false, stream_);
  } else {
    f16_matmul(out.f16, out.rows, d, xo_.get<float>(), d, n_out, logits_.get<float>(), n_vocab, false, stream_);
  }
  switch (output.kind) {
    case Output::kArgmax:
      argmax_rows(logits_.get<float>(), n_out, n_vocab, ids_.get<int32_t>(), stream_);
      TRIT_CUDA_CHECK(cudaMemcpyAsync(ids_host_.get(), ids_.get(), static_cast<size_t>(n_out) * sizeof(int32_t),
                                      cudaMemcpyDeviceToHost, stream_));
      break;
    case Output::kTopK: {
      top_k_rows(logits_.get<float>(), n_out, n_vocab, output.k, top_scratch_.get(), top_logits_.get<float>(),
                 top_ids_.get<int32_t>(), stream_);
      const size_t count = static_cast<size_t>(n_out) * static_cast<size_t>(output.k);
      TRIT_CUDA_CHECK(cudaMemcpyAsync(top_logits_host_.get(), top_logits_.get(), count * sizeof(float),
                                      cudaMemcpyDeviceToHost, stream_));
      TRIT_CUDA_CHECK(cudaMemcpyAsync(top_ids_host_.get(), top_ids_.get(), count * sizeof(int32_t),
                                      cudaMemcpyDeviceToHost, stream_));
      break;
    }
    case Output::kHidden:
      break;
    case Output::kLogits:
      TRIT_CUDA_CHECK(cudaMemcpyAsync(logits_host_.get(), logits_.get(),
                                      static_cast<size_t>(n_out) * n_vocab * sizeof(float), cudaMemcpyDeviceToHost,
                                      stream_));
      break;
  }
}

cudaGraphExec_t CudaBackend::capture(const Step& step, Output output) {
  TRIT_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  try {
    enqueue(step, output);
  } catch (...) {
    cudaGraph_t broken = nullptr;
    cudaStreamEndCapture(stream_, &broken);
    if (broken) cudaGraphDestroy(broken);
    throw;
  }
  cudaGraph_t graph = nullptr;
  TRIT_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  TRIT_CUDA_CHECK(status);
  return exec;
}

void CudaBackend::run(const Step& step, Output output) {
  if (step.persistent) ++persistent_steps_;
  if (options_.graphs && step.decode_only) {
    const int64_t key = ((step.n * 2 + (step.f16 ? 1 : 0)) * 4 + output.kind) * (kMaxTopK + 1) + output.k;
    auto it = graphs_.find(key);
    if (it == graphs_.end()) {
      const cudaGraphExec_t exec = capture(step, output);
      it = graphs_.emplace(key, exec).first;
    }
    TRIT_CUDA_CHECK(cudaGraphLaunch(it->second, stream_));
  } else {
    enqueue(step, output);
  }
  TRIT_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::run_batch(std::span<const model::SequenceInput> batch, Output output, Step& step) {
  prepare(batch, step);
  run(step, output);
  for (const model::SequenceInput& in : batch) in.cache->advance(static_cast<int64_t>(in.tokens.size()));
}

std::vector<std::span<const float>> CudaBackend::eval(std::span<const model::SequenceInput> batch) {
  Step step;
  run_batch(batch, Output{Output::kLogits, 0}, step);
  const int64_t n_vocab = model_.hparams().n_vocab;
  std::vector<std::span<const float>> result;
  int64_t offset = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    const int64_t rows = step.out_rows_per_seq[s];
    result.emplace_back(logits_host_.get<float>() + offset * n_vocab, static_cast<size_t>(rows * n_vocab));
    offset += rows;
  }
  return result;
}

void CudaBackend::run_last_tokens(std::span<const model::SequenceInput> batch, Output output, Step& step) {
  for (const model::SequenceInput& in : batch)
    if (in.all_logits) trit::fail("eval_top_k and eval_greedy take the last position of each sequence only");
  run_batch(batch, output, step);
}

std::vector<model::TopLogits> CudaBackend::eval_top_k(std::span<const model::SequenceInput> batch, int k) {
  if (k < 1 || k > kMaxTopK || k > model_.hparams().n_vocab)
    trit::fail("top-k of {} is out of range for the GPU (1 to {})", k, kMaxTopK);
  Step step;
  run_last_tokens(batch, Output{Output::kTopK, k}, step);
  std::vector<model::TopLogits> result;
  for (int64_t s = 0; s < step.n_out; ++s) {
    const size_t at = static_cast<size_t>(s * k);
    result.push_back({{top_logits_host_.get<float>() + at, static_cast<size_t>(k)},
                      {top_ids_host_.get<int32_t>() + at, static_cast<size_t>(k)}});
  }
  return result;
}

std::vector<int32_t> CudaBackend::eval_greedy(std::span<const model::SequenceInput> batch) {
  Step step;
  run_last_tokens(batch, Output{Output::kArgmax, 0}, step);
  const int32_t* ids = ids_host_.get<int32_t>();
  return std::vector<int32_t>(ids, ids + step.n_out);
}

std::vector<std::span<const float>> CudaBackend::embed(std::span<const model::SequenceInput> batch, bool normalize) {
  Step step;
  run_batch(batch, Output{Output::kHidden, 0}, step);
  // Pooled on the host by the CPU's own code (model/pooling.h), so both devices pool alike.
  return model::pool_embeddings(model_.hparams(), model_.weights().output_norm, hidden_host_.get<float>(), batch,
                                normalize, embeddings_);
}

}  // namespace trit::cuda
