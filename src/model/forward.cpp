// The reference forward pass of every supported architecture (hparams.h lists how they differ):
//   x = embed(tokens)
//   per layer:  h = x + Wo · subnorm?(attention(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x)))      n = RMSNorm
//               x = h + Wdown · subnorm?(act(Wgate·n(h)) * Wup·n(h))
//   logits = Wout · n(x)
// over the rows of several sequences at once: every per-row step is independent of the other rows, so
// batching changes no sequence's numbers.
#include "model/forward.h"

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

// Scratch for one (sequence, head) attention job.
struct HeadScratch {
  std::vector<float> scores, qh, keys, values, row;
  std::vector<uint16_t> q16;
};

}  // namespace

Forward::Forward(const Model& model, int n_threads) : model_(model), pool_(n_threads) {}

// Causal attention of each segment's new queries over its own cache; (segment, head) pairs in
// parallel. Query head h reads KV head h / (n_head / n_head_kv) (grouped-query attention).
void Forward::attention(int64_t layer, std::span<const Segment> segments, const float* q, float* out) {
  const HParams& h = model_.hparams();
  const int64_t group = h.n_head / h.n_head_kv;
  const int64_t hd = h.head_dim;
  const int64_t ld = h.n_embd_kv();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
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
          kernels::softmax(scores, n_keys);
          for (int64_t p = 0; p < n_keys; ++p) scores[p] = round_f16(scores[p]);
          kernels::f16_gemv({cache.values_f16(layer) + kv_off * v_stride, n_keys, scores, oh, 0, hd, v_stride}, isa);
          continue;
        }
        // Float math: over the f32 cache, or over a batch's f32 copies of the f16 cache.
        const float* kf = f16 ? s.keys.data() : cache.keys_f32(layer) + kv_off;
        const float* vf = f16 ? s.values.data() : cache.values_f32(layer) + kv_off;
        const int64_t stride = f16 ? hd : ld;
        kernels::f32_gemv({kf, hd, query, scores, 0, n_keys, stride}, isa);
        for (int64_t p = 0; p < n_keys; ++p) scores[p] *= scale;
        kernels::softmax(scores, n_keys);
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

std::vector<std::span<const float>> Forward::eval(std::span<const SequenceInput> batch) {
  const HParams& h = model_.hparams();
  const Weights& w = model_.weights();
  if (batch.empty()) trit::fail("no tokens to evaluate");

  // Validate everything before touching any cache, then lay the sequences out as rows.
  std::vector<Segment> segments;
  int64_t n = 0;
  for (const SequenceInput& in : batch) {
    TRIT_ASSERT(in.cache != nullptr);
    const int64_t len = static_cast<int64_t>(in.tokens.size());
    if (len == 0) trit::fail("no tokens to evaluate");
    if (in.cache->n_past() + len > in.cache->n_ctx())
      trit::fail("context is full: {} tokens in the cache + {} new > context size {} (use -c to raise it)",
                 in.cache->n_past(), len, in.cache->n_ctx());
    for (int32_t id : in.tokens)
      if (id < 0 || id >= h.n_vocab) trit::fail("token id {} is out of range (vocabulary of {})", id, h.n_vocab);
    for (const Segment& other : segments) TRIT_ASSERT(other.cache != in.cache);
    segments.push_back({in.cache, n, len, in.cache->n_past()});
    n += len;
  }
  std::vector<int64_t> row_segment(static_cast<size_t>(n));
  for (size_t s = 0; s < segments.size(); ++s) {
    segments[s].cache->reserve(segments[s].n_past + segments[s].n_tokens);
    for (int64_t t = 0; t < segments[s].n_tokens; ++t) row_segment[segments[s].first_row + t] = static_cast<int64_t>(s);
  }

  const int64_t d = h.n_embd;
  std::vector<float> x(n * d), xn(n * d), q(n * h.n_embd_q()), k(n * h.n_embd_kv()), v(n * h.n_embd_kv()),
      att(n * h.n_embd_q()), o(n * d), gate(n * h.n_ff), up(n * h.n_ff);
  {
    int64_t r = 0;
    for (const SequenceInput& in : batch)
      for (int32_t id : in.tokens) w.token_embd.row(id, x.data() + (r++) * d);
  }

  kernels::RopeParams rope = h.rope;
  if (!w.rope_freqs.empty()) rope.freq_factors = w.rope_freqs.data();

  // Per-row work, spread over the threads for a batch.
  auto per_row = [&](const std::function<void(int64_t)>& fn) {
    if (n == 1) return fn(0);
    pool_.parallel_for(n, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) fn(r);
    });
  };

  for (int64_t l = 0; l < h.n_layer; ++l) {
    const LayerWeights& lw = w.layers[l];
    // Attention block.
    per_row(
        [&](int64_t r) { kernels::rms_norm(x.data() + r * d, lw.attn_norm.data(), xn.data() + r * d, d, h.rms_eps); });
    forward_shared_input({{&lw.wq, q.data()}, {&lw.wk, k.data()}, {&lw.wv, v.data()}}, xn.data(), n, pool_);
    per_row([&](int64_t r) {
      const Segment& seg = segments[row_segment[r]];
      const int64_t pos = seg.n_past + (r - seg.first_row);
      for (int64_t hd = 0; hd < h.n_head; ++hd) kernels::rope(q.data() + r * h.n_embd_q() + hd * h.head_dim, pos, rope);
      for (int64_t hd = 0; hd < h.n_head_kv; ++hd)
        kernels::rope(k.data() + r * h.n_embd_kv() + hd * h.head_dim, pos, rope);
      seg.cache->store(l, pos, k.data() + r * h.n_embd_kv(), v.data() + r * h.n_embd_kv());
    });
    attention(l, segments, q.data(), att.data());
    if (h.traits.sub_norms)
      per_row([&](int64_t r) {
        kernels::rms_norm(att.data() + r * h.n_embd_q(), lw.attn_sub_norm.data(), att.data() + r * h.n_embd_q(),
                          h.n_embd_q(), h.rms_eps);
      });
    lw.wo.forward(att.data(), n, o.data(), pool_);
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];

    // Feed-forward block.
    per_row(
        [&](int64_t r) { kernels::rms_norm(x.data() + r * d, lw.ffn_norm.data(), xn.data() + r * d, d, h.rms_eps); });
    forward_shared_input({{&lw.ffn_gate, gate.data()}, {&lw.ffn_up, up.data()}}, xn.data(), n, pool_);
    per_row([&](int64_t r) {
      float* g = gate.data() + r * h.n_ff;
      kernels::gated_activation(g, up.data() + r * h.n_ff, h.n_ff, h.ffn_act);
      if (h.traits.sub_norms) kernels::rms_norm(g, lw.ffn_sub_norm.data(), g, h.n_ff, h.rms_eps);
    });
    lw.ffn_down.forward(gate.data(), n, o.data(), pool_);
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];
  }
  for (const Segment& seg : segments) seg.cache->advance(seg.n_tokens);

  // Output: per sequence the last row's logits, or every row's; gathered so the output matrix is read once.
  std::vector<int64_t> out_rows;
  for (size_t s = 0; s < segments.size(); ++s) {
    const int64_t first =
        batch[s].all_logits ? segments[s].first_row : segments[s].first_row + segments[s].n_tokens - 1;
    for (int64_t r = first; r < segments[s].first_row + segments[s].n_tokens; ++r) out_rows.push_back(r);
  }
  const int64_t n_out = static_cast<int64_t>(out_rows.size());
  for (int64_t i = 0; i < n_out; ++i)
    kernels::rms_norm(x.data() + out_rows[i] * d, w.output_norm.data(), xn.data() + i * d, d, h.rms_eps);
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

}  // namespace trit::model
