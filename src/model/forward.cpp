// The reference forward pass of every supported architecture (hparams.h lists how they differ):
//   x = embed(tokens)
//   per layer:  h = x + Wo · subnorm?(attention(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x)))      n = RMSNorm
//               x = h + Wdown · subnorm?(act(Wgate·n(h)) * Wup·n(h))
//   logits = Wout · n(x)
// with the Qwen3 / Gemma 3 additions (hparams.h): per-head Q/K norms before RoPE, Gemma's scaled
// embeddings and post-norms, sliding-window layers, and the embedding models' RMSNorm before every
// projection (W · n_in(input)). embed() pools n(x) instead of computing logits.
// over the rows of several sequences at once: every per-row step is independent of the other rows, so
// batching changes no sequence's numbers.
#include "model/forward.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "kernels/activations.h"
#include "kernels/bitlinear.h"
#include "kernels/f16_convert.h"
#include "kernels/f16_gemv.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "kernels/weighted_sum.h"
#include "model/pooling.h"
#include "runtime/assert.h"
#include "runtime/error.h"

namespace trit::model {
namespace {

// Sliding window: the query at position n_keys - 1 sees only the last `window` keys (itself included).
void mask_outside_window(float* scores, int64_t n_keys, int64_t window) {
  for (int64_t p = 0; p < n_keys - window; ++p) scores[p] = -std::numeric_limits<float>::infinity();
}

// Scratch for one (sequence, head) attention job.
struct HeadScratch {
  std::vector<float> scores, qh, keys, values, row;
  std::vector<uint16_t> q16, p16;
};

}  // namespace

Forward::Forward(const Model& model, int n_threads) : model_(model), pool_(n_threads) {}

std::string Forward::device_name() const { return fmt::format("cpu ({} threads)", pool_.n_threads()); }

// Causal attention of each segment's new queries over its own cache; (segment, head) pairs in
// parallel. Query head h reads KV head h / (n_head / n_head_kv) (grouped-query attention).
void Forward::attention(int64_t layer, std::span<const Segment> segments, const float* q, float* out) {
  const HParams& h = model_.hparams();
  const int64_t group = h.n_head / h.n_head_kv;
  const int64_t hd = h.head_dim;
  const int64_t ld = h.n_embd_kv();
  const float scale = h.attn_scale > 0.0f ? h.attn_scale : 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t window = h.is_swa_layer(layer) ? h.n_swa : 0;  // keys before n_keys - window are masked
  const runtime::IsaLevel isa = runtime::active_isa();
  const int64_t n_jobs = static_cast<int64_t>(segments.size()) * h.n_head;
  pool_.parallel_for(n_jobs, [&](int64_t j0, int64_t j1) {
    HeadScratch s;
    s.qh.resize(hd);
    s.q16.resize(hd);
    for (int64_t job = j0; job < j1; ++job) {
      const Segment& seg = segments[job / h.n_head];
      const int64_t head = job % h.n_head;
      const KvCache& cache = *seg.cache;
      const bool f16 = cache.type() == KvType::kF16;
      const int64_t n_all = seg.n_past + seg.n_tokens;
      const int64_t v_stride = cache.value_stride();
      const int64_t kv_off = (head / group) * hd;
      s.scores.resize(static_cast<size_t>(n_all));
      if (f16 && seg.n_tokens > 1) {  // f32 copies of this head's cache, [position][dim]
        s.keys.resize(static_cast<size_t>(n_all * hd));
        s.values.resize(static_cast<size_t>(n_all * hd));
        for (int64_t p = 0; p < n_all; ++p)
          kernels::f16_to_f32_row(cache.keys_f16(layer) + p * ld + kv_off, s.keys.data() + p * hd, hd, isa);
        s.row.resize(static_cast<size_t>(n_all));
        for (int64_t d = 0; d < hd; ++d) {  // the cache holds values transposed
          kernels::f16_to_f32_row(cache.values_f16(layer) + (kv_off + d) * v_stride, s.row.data(), n_all, isa);
          for (int64_t p = 0; p < n_all; ++p) s.values[p * hd + d] = s.row[p];
        }
      }
      for (int64_t t = 0; t < seg.n_tokens; ++t) {
        const int64_t r = seg.first_row + t;
        const float* query = q + r * h.n_embd_q() + head * hd;
        const int64_t n_keys = seg.n_past + t + 1;
        float* oh = out + r * h.n_embd_q() + head * hd;
        float* scores = s.scores.data();
        if (f16) {
          // As ggml: the query rounded to f16 for Q·K over f16 keys. A single new token then goes
          // through ggml_vec_dot_f16 (its order, the weights rounded to f16 before P·V); a batch goes
          // through an f32 GEMM, so here through f32 copies of the cache.
          kernels::f32_to_f16_row(query, s.q16.data(), hd, isa);
          kernels::f16_to_f32_row(s.q16.data(), s.qh.data(), hd, isa);
          query = s.qh.data();
        }
        if (f16 && seg.n_tokens == 1) {
          kernels::f16_gemv({cache.keys_f16(layer) + kv_off, hd, query, scores, 0, n_keys, ld}, isa);
          for (int64_t p = 0; p < n_keys; ++p) scores[p] *= scale;
          if (window) mask_outside_window(scores, n_keys, window);
          kernels::softmax(scores, n_keys);
          s.p16.resize(static_cast<size_t>(n_keys));  // the weights rounded to f16, as ggml does
          kernels::f32_to_f16_row(scores, s.p16.data(), n_keys, isa);
          kernels::f16_to_f32_row(s.p16.data(), scores, n_keys, isa);
          kernels::f16_gemv({cache.values_f16(layer) + kv_off * v_stride, n_keys, scores, oh, 0, hd, v_stride}, isa);
          continue;
        }
        // Float math: over the f32 cache, or over a batch's f32 copies of the f16 cache.
        const float* kf = f16 ? s.keys.data() : cache.keys_f32(layer) + kv_off;
        const float* vf = f16 ? s.values.data() : cache.values_f32(layer) + kv_off;
        const int64_t stride = f16 ? hd : ld;
        kernels::f32_gemv({kf, hd, query, scores, 0, n_keys, stride}, isa);
        for (int64_t p = 0; p < n_keys; ++p) scores[p] *= scale;
        if (window) mask_outside_window(scores, n_keys, window);
        kernels::softmax(scores, n_keys);
        // P·V as a sum of value rows (every lane independent: same result at every level).
        kernels::weighted_sum({scores, n_keys, vf, stride, oh, hd}, isa);
      }
    }
  });
}

void Forward::run_layers(std::span<const SequenceInput> batch) {
  const HParams& h = model_.hparams();
  const Weights& w = model_.weights();

  // Validate everything before touching any cache, then lay the sequences out as rows.
  validate_batch(h, batch);
  std::vector<Segment>& segments = segments_;
  segments.clear();
  int64_t n = 0;
  for (const SequenceInput& in : batch) {
    const int64_t len = static_cast<int64_t>(in.tokens.size());
    segments.push_back({in.cache, n, len, in.cache->n_past()});
    n += len;
  }
  std::vector<int64_t> row_segment(static_cast<size_t>(n));
  for (size_t s = 0; s < segments.size(); ++s) {
    segments[s].cache->reserve(segments[s].n_past + segments[s].n_tokens);
    for (int64_t t = 0; t < segments[s].n_tokens; ++t) row_segment[segments[s].first_row + t] = static_cast<int64_t>(s);
  }

  const int64_t d = h.n_embd;
  const int64_t hd_q = h.n_embd_q(), hd_kv = h.n_embd_kv();
  const bool norm_in = !w.layers.empty() && w.layers[0].has_norm_in();
  std::vector<float>& x = x_;
  x.assign(static_cast<size_t>(n * d), 0.0f);
  // Scratch kept between calls (every element is written before it is read): a decode step allocates
  // nothing, and a batch's buffers (hundreds of KiB) are not fresh zeroed pages from the kernel each time.
  auto sized = [](std::vector<float>& buf, int64_t size) -> std::vector<float>& {
    buf.resize(static_cast<size_t>(size));
    return buf;
  };
  std::vector<float>&xn = sized(s_.xn, n * d), &q = sized(s_.q, n * hd_q), &k = sized(s_.k, n * hd_kv),
  &v = sized(s_.v, n * hd_kv), &att = sized(s_.att, n * hd_q), &o = sized(s_.o, n * d),
  &gate = sized(s_.gate, n * h.n_ff), &up = sized(s_.up, n * h.n_ff);
  // Per-projection normed inputs (embedding models).
  std::vector<float>&xa = sized(s_.xa, norm_in ? n * d : 0), &xb = sized(s_.xb, norm_in ? n * d : 0);
  {
    int64_t r = 0;
    for (const SequenceInput& in : batch)
      for (int32_t id : in.tokens) w.token_embd.row(id, x.data() + (r++) * d);
  }
  if (h.traits.embd_scale) {
    const float s = std::sqrt(static_cast<float>(d));
    for (float& e : x) e *= s;
  }

  kernels::RopeParams rope = h.rope;
  if (!w.rope_freqs.empty()) rope.freq_factors = w.rope_freqs.data();
  kernels::RopeParams rope_swa = rope;
  rope_swa.freq_base = h.rope_freq_base_swa;
  rope_swa.freq_scale = 1.0f;

  // Per-row work, spread over the threads for a batch.
  auto per_row = [&](const std::function<void(int64_t)>& fn) {
    if (n == 1) return fn(0);
    pool_.parallel_for(n, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) fn(r);
    });
  };
  auto norm_rows = [&](const float* in, const std::vector<float>& weight, float* out, int64_t width) {
    per_row([&](int64_t r) { kernels::rms_norm(in + r * width, weight.data(), out + r * width, width, h.rms_eps); });
  };

  for (int64_t l = 0; l < h.n_layer; ++l) {
    const LayerWeights& lw = w.layers[l];
    const kernels::RopeParams& layer_rope = h.is_swa_layer(l) ? rope_swa : rope;
    // Attention block.
    norm_rows(x.data(), lw.attn_norm, xn.data(), d);
    if (lw.has_norm_in()) {  // each projection normalises its own input
      per_row([&](int64_t r) {
        const float* in = xn.data() + r * d;
        kernels::rms_norm(in, lw.q_norm_in.data(), xa.data() + r * d, d, h.rms_eps);
        kernels::rms_norm(in, lw.k_norm_in.data(), xb.data() + r * d, d, h.rms_eps);
        kernels::rms_norm(in, lw.v_norm_in.data(), xn.data() + r * d, d, h.rms_eps);
      });
      lw.wq.forward(xa.data(), n, q.data(), pool_);
      lw.wk.forward(xb.data(), n, k.data(), pool_);
      lw.wv.forward(xn.data(), n, v.data(), pool_);
    } else {
      forward_shared_input({{&lw.wq, q.data()}, {&lw.wk, k.data()}, {&lw.wv, v.data()}}, xn.data(), n, pool_);
    }
    per_row([&](int64_t r) {
      const Segment& seg = segments[row_segment[r]];
      const int64_t pos = seg.n_past + (r - seg.first_row);
      float* qr = q.data() + r * hd_q;
      float* kr = k.data() + r * hd_kv;
      if (h.traits.qk_norm) {
        for (int64_t hd = 0; hd < h.n_head; ++hd)
          kernels::rms_norm(qr + hd * h.head_dim, lw.attn_q_norm.data(), qr + hd * h.head_dim, h.head_dim, h.rms_eps);
        for (int64_t hd = 0; hd < h.n_head_kv; ++hd)
          kernels::rms_norm(kr + hd * h.head_dim, lw.attn_k_norm.data(), kr + hd * h.head_dim, h.head_dim, h.rms_eps);
      }
      // The token's angles once for all its Q and K heads (per thread, allocated once).
      thread_local std::vector<float> angles;
      const int64_t half = layer_rope.n_rot / 2;
      angles.resize(static_cast<size_t>(2 * half));
      kernels::rope_angles(pos, layer_rope, angles.data(), angles.data() + half);
      kernels::rope_heads(qr, h.n_head, h.head_dim, angles.data(), angles.data() + half, layer_rope);
      kernels::rope_heads(kr, h.n_head_kv, h.head_dim, angles.data(), angles.data() + half, layer_rope);
      seg.cache->store(l, pos, kr, v.data() + r * hd_kv);
    });
    attention(l, segments, q.data(), att.data());
    if (h.traits.sub_norms) norm_rows(att.data(), lw.attn_sub_norm, att.data(), hd_q);
    if (lw.has_norm_in()) norm_rows(att.data(), lw.o_norm_in, att.data(), hd_q);
    lw.wo.forward(att.data(), n, o.data(), pool_);
    if (h.traits.post_norms) norm_rows(o.data(), lw.post_attn_norm, o.data(), d);
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];

    // Feed-forward block.
    norm_rows(x.data(), lw.ffn_norm, xn.data(), d);
    if (lw.has_norm_in()) {
      per_row([&](int64_t r) {
        kernels::rms_norm(xn.data() + r * d, lw.gate_norm_in.data(), xa.data() + r * d, d, h.rms_eps);
        kernels::rms_norm(xn.data() + r * d, lw.up_norm_in.data(), xn.data() + r * d, d, h.rms_eps);
      });
      lw.ffn_gate.forward(xa.data(), n, gate.data(), pool_);
      lw.ffn_up.forward(xn.data(), n, up.data(), pool_);
    } else {
      forward_shared_input({{&lw.ffn_gate, gate.data()}, {&lw.ffn_up, up.data()}}, xn.data(), n, pool_);
    }
    per_row([&](int64_t r) {
      float* g = gate.data() + r * h.n_ff;
      kernels::gated_activation(g, up.data() + r * h.n_ff, h.n_ff, h.ffn_act);
      if (h.traits.sub_norms) kernels::rms_norm(g, lw.ffn_sub_norm.data(), g, h.n_ff, h.rms_eps);
      if (lw.has_norm_in()) kernels::rms_norm(g, lw.down_norm_in.data(), g, h.n_ff, h.rms_eps);
    });
    lw.ffn_down.forward(gate.data(), n, o.data(), pool_);
    if (h.traits.post_norms) norm_rows(o.data(), lw.post_ffw_norm, o.data(), d);
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];
  }
  for (const Segment& seg : segments) seg.cache->advance(seg.n_tokens);
}

std::vector<std::span<const float>> Forward::eval(std::span<const SequenceInput> batch) {
  const HParams& h = model_.hparams();
  const Weights& w = model_.weights();
  run_layers(batch);
  const std::vector<Segment>& segments = segments_;
  const int64_t d = h.n_embd;

  // Output: per sequence the last row's logits, or every row's; gathered so the output matrix is read once.
  std::vector<int64_t> out_rows;
  for (size_t s = 0; s < segments.size(); ++s) {
    const int64_t first =
        batch[s].all_logits ? segments[s].first_row : segments[s].first_row + segments[s].n_tokens - 1;
    for (int64_t r = first; r < segments[s].first_row + segments[s].n_tokens; ++r) out_rows.push_back(r);
  }
  const int64_t n_out = static_cast<int64_t>(out_rows.size());
  std::vector<float> xn(static_cast<size_t>(n_out * d));
  for (int64_t i = 0; i < n_out; ++i)
    kernels::rms_norm(x_.data() + out_rows[i] * d, w.output_norm.data(), xn.data() + i * d, d, h.rms_eps);
  logits_.resize(static_cast<size_t>(n_out * h.n_vocab));
  w.output.forward(xn.data(), n_out, logits_.data(), pool_);

  std::vector<std::span<const float>> result;
  int64_t offset = 0;
  for (size_t s = 0; s < segments.size(); ++s) {
    const int64_t rows = batch[s].all_logits ? segments[s].n_tokens : 1;
    result.emplace_back(logits_.data() + offset * h.n_vocab, static_cast<size_t>(rows * h.n_vocab));
    offset += rows;
  }
  return result;
}

std::vector<std::span<const float>> Forward::embed(std::span<const SequenceInput> batch, bool normalize) {
  run_layers(batch);  // the sequences' rows one after another, in batch order
  return pool_embeddings(model_.hparams(), model_.weights().output_norm, x_.data(), batch, normalize, embeddings_);
}

}  // namespace trit::model
