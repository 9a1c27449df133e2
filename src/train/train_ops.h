// The operations of a BitNet b1.58 block, each as a forward and a backward function over plain arrays,
// templated on the scalar (float for training, double for the finite-difference gradient tests).
// The float forwards compute exactly as trit's inference kernels do (kernels/norm, activations, rope).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace trit::train {

// ---- Linear layer (reference loops; the model uses train_gemm for float) ----
// y[t][o] = sum_c x[t][c] * w[o][c]
template <typename T>
void linear_forward(const T* x, const T* w, T* y, int64_t n, int64_t in, int64_t out) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      T sum = 0;
      for (int64_t c = 0; c < in; ++c) sum += x[t * in + c] * w[o * in + c];
      y[t * out + o] = sum;
    }
}
// dx[t][c] += sum_o dy[t][o] w[o][c];  dw[o][c] += sum_t dy[t][o] x[t][c]
template <typename T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, int64_t n, int64_t in, int64_t out) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      const T g = dy[t * out + o];
      for (int64_t c = 0; c < in; ++c) {
        dx[t * in + c] += g * w[o * in + c];
        dw[o * in + c] += g * x[t * in + c];
      }
    }
}

// ---- RMSNorm of one row: y = x * r * w, r = 1 / sqrt(mean(x^2) + eps) ----
// As kernels::rms_norm: squares summed in double, the mean and the scale in T. Returns r.
template <typename T>
T rms_norm_forward(const T* x, const T* w, T* y, int64_t n, float eps) {
  double sum_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i] * x[i]);
  const T mean = static_cast<T>(sum_sq / static_cast<double>(n));
  const T r = T(1) / std::sqrt(mean + static_cast<T>(eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * r * w[i];
  return r;
}
// dx = r * (dy * w) - x * r^3 / n * sum(dy * w * x)   (dx overwritten; the weight gradient is
// rms_norm_weight_grad, summed over rows separately so its order is fixed).
template <typename T>
void rms_norm_backward(const T* x, const T* w, const T* dy, T r, T* dx, int64_t n) {
  double dot = 0.0;
  for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(dy[i] * w[i] * x[i]);
  const T k = static_cast<T>(dot) * r * r * r / static_cast<T>(n);
  for (int64_t i = 0; i < n; ++i) dx[i] = r * dy[i] * w[i] - x[i] * k;
}
// dw[i] += sum over rows t of dy[t][i] * x[t][i] * r[t], for columns [c0, c1).
template <typename T>
void rms_norm_weight_grad(const T* x, const T* dy, const T* r, T* dw, int64_t rows, int64_t n, int64_t c0, int64_t c1) {
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t i = c0; i < c1; ++i) dw[i] += dy[t * n + i] * x[t * n + i] * r[t];
}

// ---- RoPE, NEOX pairing (x[i], x[i + half]), with ggml's float angles ----
// cos/sin of every (position, pair), computed exactly as kernels::rope computes them.
struct RopeTable {
  int64_t half = 0;
  std::vector<float> cos, sin;  // [position][half]
  RopeTable() = default;
  RopeTable(int64_t n_pos, int64_t n_rot, float freq_base) : half(n_rot / 2) {
    cos.resize(static_cast<size_t>(n_pos * half));
    sin.resize(cos.size());
    const float theta_scale = std::pow(freq_base, -2.0f / static_cast<float>(n_rot));
    for (int64_t p = 0; p < n_pos; ++p) {
      float theta_base = static_cast<float>(p);
      for (int64_t i = 0; i < half; ++i) {
        const float theta = 1.0f * (theta_base / 1.0f);
        theta_base *= theta_scale;
        cos[p * half + i] = std::cos(theta);
        sin[p * half + i] = std::sin(theta);
      }
    }
  }
};
template <typename T>
void rope_forward(T* x, const RopeTable& table, int64_t pos) {
  const float* c = table.cos.data() + pos * table.half;
  const float* s = table.sin.data() + pos * table.half;
  for (int64_t i = 0; i < table.half; ++i) {
    const T x0 = x[i], x1 = x[i + table.half];
    x[i] = x0 * c[i] - x1 * s[i];
    x[i + table.half] = x0 * s[i] + x1 * c[i];
  }
}
// The transpose of the rotation, in place on the gradient.
template <typename T>
void rope_backward(T* dx, const RopeTable& table, int64_t pos) {
  const float* c = table.cos.data() + pos * table.half;
  const float* s = table.sin.data() + pos * table.half;
  for (int64_t i = 0; i < table.half; ++i) {
    const T d0 = dx[i], d1 = dx[i + table.half];
    dx[i] = d0 * c[i] + d1 * s[i];
    dx[i + table.half] = -d0 * s[i] + d1 * c[i];
  }
}

// ---- Softmax of one row, as kernels::softmax (max subtracted, sum in double) ----
template <typename T>
void softmax_forward(T* x, int64_t n) {
  T max_v = x[0];
  for (int64_t i = 1; i < n; ++i) max_v = std::max(max_v, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_v);
    sum += x[i];
  }
  const T inv = static_cast<T>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

// Dot product in 8 interleaved partial sums (a fixed order that compilers vectorise).
template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  T sum = 0;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (int j = 0; j < 8; ++j) sum += acc[j];
  return sum;
}

// ---- Causal attention of one head over one sequence of n tokens ----
// q rows at q + t * ldq, k and v rows at k/v + t * ldkv, out rows at out + t * ldo (head_dim hd each);
// probs [n][n] keeps the softmax rows (entries after the diagonal are zero) for the backward pass.
template <typename T>
void attention_forward(const T* q, int64_t ldq, const T* k, const T* v, int64_t ldkv, T* out, int64_t ldo, T* probs,
                       int64_t n, int64_t hd, T scale) {
  for (int64_t t = 0; t < n; ++t) {
    T* p = probs + t * n;
    const T* qt = q + t * ldq;
    for (int64_t j = 0; j <= t; ++j) {
      p[j] = dot(qt, k + j * ldkv, hd) * scale;
    }
    softmax_forward(p, t + 1);
    std::fill(p + t + 1, p + n, T(0));
    T* o = out + t * ldo;
    std::fill(o, o + hd, T(0));
    for (int64_t j = 0; j <= t; ++j) {
      const T w = p[j];
      const T* vj = v + j * ldkv;
      for (int64_t d = 0; d < hd; ++d) o[d] += w * vj[d];
    }
  }
}
// dq overwritten; dk, dv accumulated (several query heads share one KV head). scratch: n values.
template <typename T>
void attention_backward(const T* q, int64_t ldq, const T* k, const T* v, int64_t ldkv, const T* probs, const T* dout,
                        int64_t ldo, T* dq, T* dk, T* dv, int64_t n, int64_t hd, T scale, T* scratch) {
  for (int64_t t = 0; t < n; ++t) {
    const T* p = probs + t * n;
    const T* dot_ = dout + t * ldo;
    T* ds = scratch;
    double sum = 0.0;
    for (int64_t j = 0; j <= t; ++j) {
      const T dp = dot(dot_, v + j * ldkv, hd);
      ds[j] = dp;
      sum += static_cast<double>(dp * p[j]);
      T* dvj = dv + j * ldkv;
      for (int64_t d = 0; d < hd; ++d) dvj[d] += p[j] * dot_[d];
    }
    const T s = static_cast<T>(sum);
    T* dqt = dq + t * ldq;
    std::fill(dqt, dqt + hd, T(0));
    const T* qt = q + t * ldq;
    for (int64_t j = 0; j <= t; ++j) {
      const T g = p[j] * (ds[j] - s) * scale;
      const T* kj = k + j * ldkv;
      T* dkj = dk + j * ldkv;
      for (int64_t d = 0; d < hd; ++d) {
        dqt[d] += g * kj[d];
        dkj[d] += g * qt[d];
      }
    }
  }
}

// ---- Squared-ReLU gated unit: out = max(g, 0)^2 * u ----
template <typename T>
void relu2_glu_forward(const T* g, const T* u, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T a = g[i] > T(0) ? g[i] * g[i] : T(0);
    out[i] = a * u[i];
  }
}
template <typename T>
void relu2_glu_backward(const T* g, const T* u, const T* dout, T* dg, T* du, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T r = g[i] > T(0) ? g[i] : T(0);
    dg[i] = dout[i] * u[i] * T(2) * r;
    du[i] = dout[i] * r * r;
  }
}

// ---- Cross-entropy of one row of logits against a target id ----
// Returns -log softmax(logits)[target]; with dlogits, writes (softmax - onehot) * grad_scale.
template <typename T>
double cross_entropy(const T* logits, int64_t n, int32_t target, T* dlogits, T grad_scale) {
  T max_v = logits[0];
  for (int64_t i = 1; i < n; ++i) max_v = std::max(max_v, logits[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i] - max_v));
  const double log_z = std::log(sum) + static_cast<double>(max_v);
  const double loss = log_z - static_cast<double>(logits[target]);  // before dlogits may overwrite logits
  if (dlogits) {
    for (int64_t i = 0; i < n; ++i)
      dlogits[i] = static_cast<T>(std::exp(static_cast<double>(logits[i]) - log_z)) * grad_scale;
    dlogits[target] -= grad_scale;
  }
  return loss;
}

}  // namespace trit::train
