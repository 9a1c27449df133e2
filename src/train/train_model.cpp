// The parameter layout and the forward/backward pass of the trained BitNet b1.58 decoder.
#include "train/train_model.h"

#include <cmath>
#include <cstring>
#include <random>
#include <type_traits>

#include "kernels/bitlinear.h"
#include "runtime/assert.h"
#include "runtime/error.h"
#include "tensor/codec.h"
#include "tensor/ternary.h"
#include "train/train_gemm.h"

namespace trit::train {

void ModelConfig::validate() const {
  auto positive = [](const char* flag, int64_t v) {
    if (v <= 0) trit::fail("{} must be positive (got {})", flag, v);
  };
  positive("--vocab", n_vocab);
  positive("--dim", n_embd);
  positive("--layers", n_layer);
  positive("--heads", n_head);
  positive("--kv-heads", n_head_kv);
  positive("--ffn", n_ff);
  positive("--ctx", n_ctx);
  if (n_embd % n_head != 0) trit::fail("--dim {} is not a multiple of --heads {}", n_embd, n_head);
  if (n_head % n_head_kv != 0) trit::fail("--heads {} is not a multiple of --kv-heads {}", n_head, n_head_kv);
  if (head_dim() % 2 != 0) trit::fail("the head size --dim / --heads = {} must be even (RoPE pairs)", head_dim());
  // I2_S packs whole 128-weight blocks of each row's input features.
  if (n_embd % 128 != 0) trit::fail("--dim {} must be a multiple of 128 (I2_S blocks)", n_embd);
  if (n_ff % 128 != 0) trit::fail("--ffn {} must be a multiple of 128 (I2_S blocks)", n_ff);
}

ParamLayout::ParamLayout(const ModelConfig& c) : config(c) {
  auto add = [&](std::string name, int64_t rows, int64_t cols, ParamKind kind) {
    tensors.push_back({std::move(name), rows, cols, n_params, kind});
    n_params += static_cast<size_t>(rows * cols);
    return tensors.size() - 1;
  };
  token_embd = add("token_embd.weight", c.n_vocab, c.n_embd, ParamKind::kEmbedding);
  output_norm = add("output_norm.weight", 1, c.n_embd, ParamKind::kNorm);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string b = fmt::format("blk.{}.", l);
    LayerIndex li{};
    li.attn_norm = add(b + "attn_norm.weight", 1, c.n_embd, ParamKind::kNorm);
    li.wq = add(b + "attn_q.weight", c.n_embd_q(), c.n_embd, ParamKind::kLinear);
    li.wk = add(b + "attn_k.weight", c.n_embd_kv(), c.n_embd, ParamKind::kLinear);
    li.wv = add(b + "attn_v.weight", c.n_embd_kv(), c.n_embd, ParamKind::kLinear);
    li.wo = add(b + "attn_output.weight", c.n_embd, c.n_embd_q(), ParamKind::kLinear);
    li.attn_sub_norm = add(b + "attn_sub_norm.weight", 1, c.n_embd_q(), ParamKind::kNorm);
    li.ffn_norm = add(b + "ffn_norm.weight", 1, c.n_embd, ParamKind::kNorm);
    li.gate = add(b + "ffn_gate.weight", c.n_ff, c.n_embd, ParamKind::kLinear);
    li.up = add(b + "ffn_up.weight", c.n_ff, c.n_embd, ParamKind::kLinear);
    li.down = add(b + "ffn_down.weight", c.n_embd, c.n_ff, ParamKind::kLinear);
    li.ffn_sub_norm = add(b + "ffn_sub_norm.weight", 1, c.n_ff, ParamKind::kNorm);
    layers.push_back(li);
  }
}

std::vector<float> init_params(const ParamLayout& layout, uint64_t seed) {
  std::vector<float> p(layout.n_params);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (const ParamInfo& t : layout.tensors) {
    float* w = p.data() + t.offset;
    if (t.kind == ParamKind::kNorm) {
      std::fill(w, w + t.size(), 1.0f);
    } else {
      for (size_t i = 0; i < t.size(); ++i) w[i] = normal(rng);
    }
  }
  return p;
}

namespace {

float round_f16(float x) { return tensor::f16_to_f32(tensor::f32_to_f16(x)); }

}  // namespace

template <typename T>
Transformer<T>::Transformer(const ParamLayout& layout, runtime::ThreadPool& pool, bool quantize, bool f16_scales)
    : layout_(layout),
      pool_(pool),
      quantize_(quantize),
      f16_scales_(f16_scales),
      rope_(layout.config.n_ctx, layout.config.head_dim(), layout.config.rope_base) {
  TRIT_ASSERT((!quantize || std::is_same_v<T, float>));
  layers_.resize(static_cast<size_t>(layout.config.n_layer));
}

template <typename T>
void Transformer<T>::per_row(int64_t n, const std::function<void(int64_t)>& fn) {
  pool_.parallel_for(n, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) fn(r);
  });
}

template <typename T>
void Transformer<T>::matmul(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_row, int64_t a_col, const T* b,
                            int64_t ldb, T* c, bool accumulate) {
  if constexpr (std::is_same_v<T, float>) {
    gemm({m, n, k, a, a_row, a_col, b, ldb, c, n, accumulate}, pool_);
  } else {
    for (int64_t i = 0; i < m; ++i) {
      T* ci = c + i * n;
      if (!accumulate) std::fill(ci, ci + n, T(0));
      for (int64_t p = 0; p < k; ++p) {
        const T av = a[i * a_row + p * a_col];
        for (int64_t j = 0; j < n; ++j) ci[j] += av * b[p * ldb + j];
      }
    }
  }
}

template <typename T>
void Transformer<T>::norm_rows(const T* x, const T* w, T* y, T* r, int64_t n, int64_t width) {
  per_row(n,
          [&](int64_t t) { r[t] = rms_norm_forward(x + t * width, w, y + t * width, width, layout_.config.rms_eps); });
}

template <typename T>
void Transformer<T>::norm_rows_backward(const T* x, const T* w, const T* r, const T* dy, T* dx, T* dw, int64_t n,
                                        int64_t width) {
  per_row(n, [&](int64_t t) { rms_norm_backward(x + t * width, w, dy + t * width, r[t], dx + t * width, width); });
  pool_.parallel_for(
      width, [&](int64_t c0, int64_t c1) { rms_norm_weight_grad(x, dy, r, dw, n, width, c0, c1); }, 16);
}

template <typename T>
void Transformer<T>::prepare_projection(const T* w, int64_t out, int64_t in, Projection& p) {
  p.in = in;
  p.out = out;
  p.vals.resize(static_cast<size_t>(out * in));
  p.wt.resize(p.vals.size());
  if constexpr (std::is_same_v<T, float>) {
    if (quantize_) {
      const tensor::TernaryMatrix m = tensor::ternarize_absmean({w, static_cast<size_t>(out * in)}, out, in);
      for (size_t i = 0; i < p.vals.size(); ++i) p.vals[i] = static_cast<float>(m.values[i]);
      p.scale = f16_scales_ ? round_f16(m.scales[0]) : m.scales[0];
    }
  }
  if (!quantize_) {
    std::copy(w, w + out * in, p.vals.begin());
    p.scale = 1;
  }
  for (int64_t o = 0; o < out; ++o)
    for (int64_t c = 0; c < in; ++c) p.wt[c * out + o] = p.vals[o * in + c];
}

template <typename T>
void Transformer<T>::quantize_input(const T* x, int64_t n, int64_t in, std::vector<T>& xq, std::vector<T>& q,
                                    std::vector<T>& s) {
  xq.resize(static_cast<size_t>(n * in));
  q.resize(xq.size());
  s.resize(static_cast<size_t>(n));
  per_row(n, [&](int64_t t) {
    const T* xr = x + t * in;
    if constexpr (std::is_same_v<T, float>) {
      if (quantize_) {
        thread_local std::vector<int8_t> q8;
        q8.resize(static_cast<size_t>(in));
        const float scale = kernels::quantize_activations(xr, in, q8.data());
        s[t] = scale;
        for (int64_t c = 0; c < in; ++c) {
          q[t * in + c] = static_cast<float>(q8[c]);
          xq[t * in + c] = static_cast<float>(q8[c]) / scale;
        }
        return;
      }
    }
    s[t] = 1;
    std::copy(xr, xr + in, q.begin() + t * in);
    std::copy(xr, xr + in, xq.begin() + t * in);
  });
}

template <typename T>
void Transformer<T>::project(const Projection& p, const std::vector<T>& q, const std::vector<T>& s, int64_t n, T* y) {
  // Integer-valued products are exact in float (|sum| <= 127 * in < 2^24), so y is what the int8 x
  // ternary kernels compute: acc / x_scale * w_scale.
  matmul(n, p.out, p.in, q.data(), p.in, 1, p.wt.data(), p.out, y, false);
  if (!quantize_) return;
  per_row(n, [&](int64_t t) {
    for (int64_t o = 0; o < p.out; ++o) y[t * p.out + o] = y[t * p.out + o] / s[t] * p.scale;
  });
}

template <typename T>
void Transformer<T>::project_backward(const Projection& p, const T* dy, const std::vector<T>& xq, int64_t n, T* dx,
                                      bool acc_dx, T* dw) {
  // Straight-through: dL/dx = dy · W_q, dL/dW = dy^T · x_q.
  const T* dys = dy;
  std::vector<T> scaled;
  if (p.scale != T(1)) {
    scaled.resize(static_cast<size_t>(n * p.out));
    per_row(n, [&](int64_t t) {
      for (int64_t o = 0; o < p.out; ++o) scaled[t * p.out + o] = dy[t * p.out + o] * p.scale;
    });
    dys = scaled.data();
  }
  matmul(n, p.in, p.out, dys, p.out, 1, p.vals.data(), p.in, dx, acc_dx);
  matmul(p.out, p.in, n, dy, 1, p.out, xq.data(), p.in, dw, true);
}

template <typename T>
double Transformer<T>::forward(std::span<const T> params, std::span<const int32_t> tokens,
                               std::span<const int32_t> targets, int64_t n_seq, int64_t n_tok, std::vector<T>* logits) {
  const ModelConfig& c = layout_.config;
  const int64_t n = n_seq * n_tok, d = c.n_embd, qd = c.n_embd_q(), kvd = c.n_embd_kv(), ff = c.n_ff, V = c.n_vocab;
  const int64_t hd = c.head_dim(), group = c.n_head / c.n_head_kv;
  TRIT_ASSERT(static_cast<int64_t>(tokens.size()) == n && n_tok <= c.n_ctx);
  TRIT_ASSERT(targets.empty() || static_cast<int64_t>(targets.size()) == n);
  TRIT_ASSERT(params.size() == layout_.n_params);
  n_seq_ = n_seq;
  n_tok_ = n_tok;
  tokens_.assign(tokens.begin(), tokens.end());
  targets_.assign(targets.begin(), targets.end());
  auto W = [&](size_t idx) { return params.data() + layout_[idx].offset; };

  // The embedding as the file stores it (f16) for the lookup and the tied output.
  const T* embd = W(layout_.token_embd);
  embd_r_.assign(embd, embd + V * d);
  if constexpr (std::is_same_v<T, float>)
    if (quantize_)
      for (float& e : embd_r_) e = round_f16(e);

  std::vector<T> x(static_cast<size_t>(n * d)), xn(x.size()), o(x.size()), sub(static_cast<size_t>(n * qd)),
      subf(static_cast<size_t>(n * ff));
  for (int64_t r = 0; r < n; ++r) {
    const int32_t id = tokens[r];
    TRIT_ASSERT(id >= 0 && id < V);
    std::copy(embd_r_.begin() + id * d, embd_r_.begin() + (id + 1) * d, x.begin() + r * d);
  }
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));

  for (int64_t l = 0; l < c.n_layer; ++l) {
    Layer& L = layers_[l];
    const LayerIndex& li = layout_.layers[l];
    L.x_in = x;
    L.r_attn.resize(n);
    L.r_sub.resize(n);
    L.r_ffn.resize(n);
    L.r_ffn_sub.resize(n);
    // Attention.
    norm_rows(x.data(), W(li.attn_norm), xn.data(), L.r_attn.data(), n, d);
    quantize_input(xn.data(), n, d, L.xq_attn, scratch_q_, scratch_s_);
    prepare_projection(W(li.wq), qd, d, L.wq);
    prepare_projection(W(li.wk), kvd, d, L.wk);
    prepare_projection(W(li.wv), kvd, d, L.wv);
    L.q.resize(static_cast<size_t>(n * qd));
    L.k.resize(static_cast<size_t>(n * kvd));
    L.v.resize(static_cast<size_t>(n * kvd));
    project(L.wq, scratch_q_, scratch_s_, n, L.q.data());
    project(L.wk, scratch_q_, scratch_s_, n, L.k.data());
    project(L.wv, scratch_q_, scratch_s_, n, L.v.data());
    per_row(n, [&](int64_t r) {
      const int64_t pos = r % n_tok;
      for (int64_t h = 0; h < c.n_head; ++h) rope_forward(L.q.data() + r * qd + h * hd, rope_, pos);
      for (int64_t h = 0; h < c.n_head_kv; ++h) rope_forward(L.k.data() + r * kvd + h * hd, rope_, pos);
    });
    L.probs.resize(static_cast<size_t>(n_seq * c.n_head * n_tok * n_tok));
    L.att.resize(static_cast<size_t>(n * qd));
    pool_.parallel_for(n_seq * c.n_head, [&](int64_t j0, int64_t j1) {
      for (int64_t job = j0; job < j1; ++job) {
        const int64_t b = job / c.n_head, h = job % c.n_head, kvh = h / group;
        const int64_t row0 = b * n_tok;
        attention_forward(L.q.data() + row0 * qd + h * hd, qd, L.k.data() + row0 * kvd + kvh * hd,
                          L.v.data() + row0 * kvd + kvh * hd, kvd, L.att.data() + row0 * qd + h * hd, qd,
                          L.probs.data() + job * n_tok * n_tok, n_tok, hd, scale);
      }
    });
    norm_rows(L.att.data(), W(li.attn_sub_norm), sub.data(), L.r_sub.data(), n, qd);
    quantize_input(sub.data(), n, qd, L.xq_o, scratch_q_, scratch_s_);
    prepare_projection(W(li.wo), d, qd, L.wo);
    project(L.wo, scratch_q_, scratch_s_, n, o.data());
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];
    L.x_mid = x;

    // Feed-forward.
    norm_rows(x.data(), W(li.ffn_norm), xn.data(), L.r_ffn.data(), n, d);
    quantize_input(xn.data(), n, d, L.xq_ffn, scratch_q_, scratch_s_);
    prepare_projection(W(li.gate), ff, d, L.gate);
    prepare_projection(W(li.up), ff, d, L.up);
    L.g.resize(static_cast<size_t>(n * ff));
    L.u.resize(L.g.size());
    L.act.resize(L.g.size());
    project(L.gate, scratch_q_, scratch_s_, n, L.g.data());
    project(L.up, scratch_q_, scratch_s_, n, L.u.data());
    per_row(n,
            [&](int64_t r) { relu2_glu_forward(L.g.data() + r * ff, L.u.data() + r * ff, L.act.data() + r * ff, ff); });
    norm_rows(L.act.data(), W(li.ffn_sub_norm), subf.data(), L.r_ffn_sub.data(), n, ff);
    quantize_input(subf.data(), n, ff, L.xq_down, scratch_q_, scratch_s_);
    prepare_projection(W(li.down), d, ff, L.down);
    project(L.down, scratch_q_, scratch_s_, n, o.data());
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];
  }

  // Output: RMSNorm, then the tied embedding (inputs rounded to f16 as the F16 output layer does).
  x_out_ = x;
  r_out_.resize(n);
  xn_out_.resize(static_cast<size_t>(n * d));
  norm_rows(x.data(), W(layout_.output_norm), xn_out_.data(), r_out_.data(), n, d);
  if constexpr (std::is_same_v<T, float>)
    if (quantize_)
      for (float& e : xn_out_) e = round_f16(e);
  embd_t_.resize(static_cast<size_t>(d * V));
  for (int64_t v = 0; v < V; ++v)
    for (int64_t i = 0; i < d; ++i) embd_t_[i * V + v] = embd_r_[v * d + i];
  logits_.resize(static_cast<size_t>(n * V));
  matmul(n, V, d, xn_out_.data(), d, 1, embd_t_.data(), V, logits_.data(), false);
  if (logits) *logits = logits_;
  if (targets.empty()) return 0.0;

  // Loss; logits_ becomes d(mean loss)/d(logits).
  std::vector<double> losses(static_cast<size_t>(n));
  const T inv_n = T(1) / static_cast<T>(n);
  per_row(n, [&](int64_t r) {
    TRIT_ASSERT(targets[r] >= 0 && targets[r] < V);
    losses[r] = cross_entropy(logits_.data() + r * V, V, targets[r], logits_.data() + r * V, inv_n);
  });
  double sum = 0.0;
  for (double v : losses) sum += v;
  return sum / static_cast<double>(n);
}

template <typename T>
void Transformer<T>::backward(std::span<const T> params, std::span<T> grads) {
  const ModelConfig& c = layout_.config;
  const int64_t n = n_seq_ * n_tok_, d = c.n_embd, qd = c.n_embd_q(), kvd = c.n_embd_kv(), ff = c.n_ff, V = c.n_vocab;
  const int64_t hd = c.head_dim(), group = c.n_head / c.n_head_kv, n_tok = n_tok_;
  TRIT_ASSERT(!targets_.empty() && grads.size() == layout_.n_params);
  std::fill(grads.begin(), grads.end(), T(0));
  auto W = [&](size_t idx) { return params.data() + layout_[idx].offset; };
  auto G = [&](size_t idx) { return grads.data() + layout_[idx].offset; };
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));

  // Output layer and norm.
  T* d_embd = G(layout_.token_embd);
  std::vector<T> dxn(static_cast<size_t>(n * d)), dx(dxn.size()), tmp(dxn.size());
  matmul(V, d, n, logits_.data(), 1, V, xn_out_.data(), d, d_embd, true);
  matmul(n, d, V, logits_.data(), V, 1, embd_r_.data(), d, dxn.data(), false);
  norm_rows_backward(x_out_.data(), W(layout_.output_norm), r_out_.data(), dxn.data(), dx.data(),
                     G(layout_.output_norm), n, d);

  std::vector<T> d_sub(static_cast<size_t>(n * std::max(qd, ff))), d_act(static_cast<size_t>(n * ff)), dg(d_act.size()),
      du(d_act.size()), dq(static_cast<size_t>(n * qd)), dk(static_cast<size_t>(n * kvd)), dv(dk.size()),
      d_att(dq.size());
  for (int64_t l = c.n_layer - 1; l >= 0; --l) {
    Layer& L = layers_[l];
    const LayerIndex& li = layout_.layers[l];
    // Feed-forward: x = x_mid + down(subnorm(relu2(gate(n(x_mid))) * up(n(x_mid)))).
    project_backward(L.down, dx.data(), L.xq_down, n, d_sub.data(), false, G(li.down));
    norm_rows_backward(L.act.data(), W(li.ffn_sub_norm), L.r_ffn_sub.data(), d_sub.data(), d_act.data(),
                       G(li.ffn_sub_norm), n, ff);
    per_row(n, [&](int64_t r) {
      relu2_glu_backward(L.g.data() + r * ff, L.u.data() + r * ff, d_act.data() + r * ff, dg.data() + r * ff,
                         du.data() + r * ff, ff);
    });
    project_backward(L.gate, dg.data(), L.xq_ffn, n, dxn.data(), false, G(li.gate));
    project_backward(L.up, du.data(), L.xq_ffn, n, dxn.data(), true, G(li.up));
    norm_rows_backward(L.x_mid.data(), W(li.ffn_norm), L.r_ffn.data(), dxn.data(), tmp.data(), G(li.ffn_norm), n, d);
    for (int64_t i = 0; i < n * d; ++i) dx[i] += tmp[i];

    // Attention: x_mid = x_in + wo(subnorm(attention(rope(q), rope(k), v))).
    project_backward(L.wo, dx.data(), L.xq_o, n, d_sub.data(), false, G(li.wo));
    norm_rows_backward(L.att.data(), W(li.attn_sub_norm), L.r_sub.data(), d_sub.data(), d_att.data(),
                       G(li.attn_sub_norm), n, qd);
    std::fill(dk.begin(), dk.end(), T(0));
    std::fill(dv.begin(), dv.end(), T(0));
    // One job per (sequence, KV head): its query heads in order, so dk/dv sum in a fixed order.
    pool_.parallel_for(n_seq_ * c.n_head_kv, [&](int64_t j0, int64_t j1) {
      std::vector<T> scratch(static_cast<size_t>(n_tok));
      for (int64_t job = j0; job < j1; ++job) {
        const int64_t b = job / c.n_head_kv, kvh = job % c.n_head_kv, row0 = b * n_tok;
        for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
          attention_backward(L.q.data() + row0 * qd + h * hd, qd, L.k.data() + row0 * kvd + kvh * hd,
                             L.v.data() + row0 * kvd + kvh * hd, kvd,
                             L.probs.data() + (b * c.n_head + h) * n_tok * n_tok, d_att.data() + row0 * qd + h * hd, qd,
                             dq.data() + row0 * qd + h * hd, dk.data() + row0 * kvd + kvh * hd,
                             dv.data() + row0 * kvd + kvh * hd, n_tok, hd, scale, scratch.data());
        }
      }
    });
    per_row(n, [&](int64_t r) {
      const int64_t pos = r % n_tok;
      for (int64_t h = 0; h < c.n_head; ++h) rope_backward(dq.data() + r * qd + h * hd, rope_, pos);
      for (int64_t h = 0; h < c.n_head_kv; ++h) rope_backward(dk.data() + r * kvd + h * hd, rope_, pos);
    });
    project_backward(L.wq, dq.data(), L.xq_attn, n, dxn.data(), false, G(li.wq));
    project_backward(L.wk, dk.data(), L.xq_attn, n, dxn.data(), true, G(li.wk));
    project_backward(L.wv, dv.data(), L.xq_attn, n, dxn.data(), true, G(li.wv));
    norm_rows_backward(L.x_in.data(), W(li.attn_norm), L.r_attn.data(), dxn.data(), tmp.data(), G(li.attn_norm), n, d);
    for (int64_t i = 0; i < n * d; ++i) dx[i] += tmp[i];
  }
  // Embedding lookups, in row order.
  for (int64_t r = 0; r < n; ++r) {
    T* row = d_embd + tokens_[r] * d;
    for (int64_t i = 0; i < d; ++i) row[i] += dx[r * d + i];
  }
}

template class Transformer<float>;
template class Transformer<double>;

}  // namespace trit::train
