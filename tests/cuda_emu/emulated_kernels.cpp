// The launchers of src/cuda/kernels.h for the CPU-emulated backend: each keeps its kernel's contract
// (arguments, layouts, roundings) and does the work with the CPU engine's own kernels, so that the real
// CudaBackend orchestrating them must give the CPU engine's numbers; a wrong buffer, stride, norm or
// order there shows as a large difference. The persistent decode step runs its own device code
// (decode_step.cuh) in the SIMT emulation. Work is enqueued on the fake stream, so graphs record it.
#include "cuda/simt.h"  // first: it stands in for nvcc (built with -Wno-unknown-pragmas)
//
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "cuda/decode_step.cuh"
#include "fake_runtime.h"
#include "kernels/activations.h"
#include "kernels/elementwise.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "model/backend.h"
#include "sampling/sampler.h"
#include "tensor/codec.h"

namespace trit::cuda {
namespace {

using fake::enqueue;

float half_round(float v) { return tensor::f16_to_f32(tensor::f32_to_f16(v)); }

kernels::FfnActivation cpu_act(GluAct a) {
  switch (a) {
    case GluAct::kReluSqr:
      return kernels::FfnActivation::kReluSqr;
    case GluAct::kGeluTanh:
      return kernels::FfnActivation::kGeluTanh;
    case GluAct::kSilu:
      break;
  }
  return kernels::FfnActivation::kSilu;
}

// Row r of the input (already through the activation for the FFN), normed, copied out and quantised as
// the CPU quantises BitLinear inputs.
void quantize_row_cpu(std::vector<float>& v, int64_t r, const float* norm_w, float eps, const QuantizedRows& out,
                      float* normed, int ld_normed) {
  const int64_t cols = static_cast<int64_t>(v.size());
  if (norm_w) kernels::rms_norm(v.data(), norm_w, v.data(), cols, eps);
  if (normed) std::copy(v.begin(), v.end(), normed + r * ld_normed);
  int8_t* q = out.q + r * out.padded_cols;
  std::fill(q, q + out.padded_cols, int8_t{0});
  int32_t sum = 0;
  out.scale[r] = kernels::quantize_activations(v.data(), cols, q, &sum, runtime::active_isa());
  out.sum[r] = sum;
}

// Weight c of a row in the GPU layout (kernels.h): code 0/1/2 for -1/0/+1.
int code_at(const uint8_t* row, int c) {
  const int chunk = c / 64, i = c % 64, word = i / 16, k = (i % 16) / 4, j = i % 4;
  return (row[chunk * 16 + word * 4 + j] >> (2 * k)) & 3;
}

}  // namespace

void quantize_rows(const float* x, int ld_x, int cols, int n, const float* norm_w, float eps, QuantizedRows out,
                   float* normed, int ld_normed, cudaStream_t stream) {
  enqueue(stream, [=] {
    for (int64_t r = 0; r < n; ++r) {
      std::vector<float> v(x + r * ld_x, x + r * ld_x + cols);
      quantize_row_cpu(v, r, norm_w, eps, out, normed, ld_normed);
    }
  });
}

void glu_quantize_rows(const float* gate_up, int ld_in, int n_ff, int n, GluAct act, const float* norm_w, float eps,
                       QuantizedRows out, float* normed, int ld_normed, cudaStream_t stream) {
  enqueue(stream, [=] {
    for (int64_t r = 0; r < n; ++r) {
      std::vector<float> v(gate_up + r * ld_in, gate_up + r * ld_in + n_ff);
      kernels::gated_activation(v.data(), gate_up + r * ld_in + n_ff, n_ff, cpu_act(act));
      quantize_row_cpu(v, r, norm_w, eps, out, normed, ld_normed);
    }
  });
}

void ternary_matmul(const TernaryDevice& w, const QuantizedRows& x, int n, float* y, int ld_y, bool accumulate,
                    cudaStream_t stream) {
  enqueue(stream, [=] {
    const int64_t row_bytes = w.padded_cols / 4;
    for (int t = 0; t < n; ++t)
      for (int row = 0; row < w.rows; ++row) {
        const uint8_t* codes = w.codes + row * row_bytes;
        const int8_t* q = x.q + static_cast<int64_t>(t) * x.padded_cols;
        int32_t dot = 0;
        for (int c = 0; c < w.padded_cols; ++c) dot += code_at(codes, c) * q[c];
        store_out(y, static_cast<int64_t>(t) * ld_y + row, dot - x.sum[t], x.scale[t], w.row_scale[row],
                  w.row_out_scale[row], accumulate);
      }
  });
}

void f16_matmul(const uint16_t* w, int rows, int cols, const float* x, int ld_x, int n, float* y, int ld_y,
                bool accumulate, cudaStream_t stream) {
  enqueue(stream, [=] {
    for (int t = 0; t < n; ++t)
      for (int r = 0; r < rows; ++r) {
        float acc = 0.0f;
        for (int c = 0; c < cols; ++c)
          acc += tensor::f16_to_f32(w[static_cast<int64_t>(r) * cols + c]) * half_round(x[t * ld_x + c]);
        float& out = y[static_cast<int64_t>(t) * ld_y + r];
        out = accumulate ? out + acc : acc;
      }
  });
}

void rope_store(const RopeStoreArgs& a, cudaStream_t stream) {
  enqueue(stream, [a] {
    const int kv_dim = a.n_head_kv * a.head_dim, half = a.n_rot / 2;
    kernels::RopeParams params;
    params.n_rot = a.n_rot;
    params.style = a.neox ? kernels::RopeStyle::kNeox : kernels::RopeStyle::kNorm;
    for (int r = 0; r < a.n; ++r) {
      const RowDesc row = a.rows[r];
      float* q = a.qkv + static_cast<int64_t>(r) * a.ld;
      float* k = q + a.n_head * a.head_dim;
      const float* v = k + kv_dim;
      for (int h = 0; h < a.n_head && a.q_norm; ++h)
        kernels::rms_norm(q + h * a.head_dim, a.q_norm, q + h * a.head_dim, a.head_dim, a.norm_eps);
      for (int h = 0; h < a.n_head_kv && a.k_norm; ++h)
        kernels::rms_norm(k + h * a.head_dim, a.k_norm, k + h * a.head_dim, a.head_dim, a.norm_eps);
      const float* cs = a.cos_table + static_cast<int64_t>(row.pos) * half;
      const float* sn = a.sin_table + static_cast<int64_t>(row.pos) * half;
      kernels::rope_heads(q, a.n_head + a.n_head_kv, a.head_dim, cs, sn, params);  // Q, then K (rotated in place)
      const int64_t at = a.layer * row.layer_stride + static_cast<int64_t>(row.pos) * kv_dim;
      for (int i = 0; i < kv_dim; ++i) {
        if (a.f16_cache) {
          static_cast<uint16_t*>(row.k)[at + i] = tensor::f32_to_f16(k[i]);
          static_cast<uint16_t*>(row.v)[at + i] = tensor::f32_to_f16(v[i]);
        } else {
          static_cast<float*>(row.k)[at + i] = k[i];
          static_cast<float*>(row.v)[at + i] = v[i];
        }
      }
    }
  });
}

void attention(const AttentionArgs& a, cudaStream_t stream) {
  enqueue(stream, [a] {
    const int kv_dim = a.n_head_kv * a.head_dim, group = a.n_head / a.n_head_kv;
    for (int i = 0; i < a.n; ++i) {
      const int r = a.row_list ? a.row_list[i] : i;
      const RowDesc row = a.rows[r];
      const int n_keys = row.pos + 1;
      auto kv = [&](const void* base, int p, int d) {
        const int64_t at = a.layer * row.layer_stride + static_cast<int64_t>(p) * kv_dim + d;
        return a.f16_cache ? tensor::f16_to_f32(static_cast<const uint16_t*>(base)[at])
                           : static_cast<const float*>(base)[at];
      };
      for (int h = 0; h < a.n_head; ++h) {
        const float* q = a.qkv + static_cast<int64_t>(r) * a.ld + h * a.head_dim;
        const int off = (h / group) * a.head_dim;
        std::vector<float> p(static_cast<size_t>(n_keys));
        for (int t = 0; t < n_keys; ++t) {
          float dot = 0.0f;
          for (int d = 0; d < a.head_dim; ++d) dot += (a.f16_cache ? half_round(q[d]) : q[d]) * kv(row.k, t, off + d);
          p[t] = dot * a.scale;
          if (a.window > 0 && t < n_keys - a.window) p[t] = -INFINITY;
        }
        kernels::softmax(p.data(), n_keys);
        if (a.f16_cache && row.decode)
          for (float& x : p) x = half_round(x);
        float* out = a.out + static_cast<int64_t>(r) * a.ld_out + h * a.head_dim;
        for (int d = 0; d < a.head_dim; ++d) {
          float acc = 0.0f;
          for (int t = 0; t < n_keys; ++t) acc += p[t] * kv(row.v, t, off + d);
          out[d] = acc;
        }
      }
    }
  });
}

bool attention_reserve(int) { return true; }

void flash_attention(const AttentionArgs&, const AttnTile*, int, cudaStream_t) {
  throw std::logic_error("flash_attention: the emulated backend runs with flash attention off");
}
bool flash_attention_reserve(int) { return false; }

void gather_rms_norm(const float* x, int ld_x, const int32_t* row_index, int n, int cols, const float* w, float eps,
                     float* out, cudaStream_t stream) {
  enqueue(stream, [=] {
    for (int i = 0; i < n; ++i)
      kernels::rms_norm(x + static_cast<int64_t>(row_index[i]) * ld_x, w, out + static_cast<int64_t>(i) * cols, cols,
                        eps);
  });
}

void rms_norm_rows(const float* x, int ld_x, int cols, int n, const float* w, float eps, float* out, int ld_out,
                   bool accumulate, cudaStream_t stream) {
  enqueue(stream, [=] {
    std::vector<float> v(static_cast<size_t>(cols));
    for (int r = 0; r < n; ++r) {
      kernels::rms_norm(x + static_cast<int64_t>(r) * ld_x, w, v.data(), cols, eps);
      float* dst = out + static_cast<int64_t>(r) * ld_out;
      for (int i = 0; i < cols; ++i)
        dst[i] = accumulate ? dst[i] + v[static_cast<size_t>(i)] : v[static_cast<size_t>(i)];
    }
  });
}

void argmax_rows(const float* logits, int n, int cols, int32_t* ids, cudaStream_t stream) {
  enqueue(stream, [=] {
    for (int r = 0; r < n; ++r)
      ids[r] = sampling::argmax({logits + static_cast<int64_t>(r) * cols, static_cast<size_t>(cols)});
  });
}

size_t top_k_scratch_bytes(int, int, int) { return 0; }

void top_k_rows(const float* logits, int n, int cols, int k, void*, float* out_logits, int32_t* out_ids,
                cudaStream_t stream) {
  enqueue(stream, [=] {
    std::vector<float> top;
    std::vector<int32_t> ids;
    for (int r = 0; r < n; ++r)
      model::top_logits({logits + static_cast<int64_t>(r) * cols, static_cast<size_t>(cols)}, k, top, ids);
    std::copy(top.begin(), top.end(), out_logits);
    std::copy(ids.begin(), ids.end(), out_ids);
  });
}

// The persistent kernel's own code, 3 blocks of 64 threads or as many as the widest row needs.
int decode_step_reserve(int max_padded_cols, int, int) { return max_padded_cols <= 1024 * kQuantPer ? 3 : 0; }

void decode_step(const DecodeStepArgs& args, int blocks, cudaStream_t stream) {
  enqueue(stream, [args, blocks] {
    const int widest = std::max({padded_128(args.n_embd), padded_128(args.n_embd_q), padded_128(args.n_ff)});
    const unsigned threads = std::max(64, (widest + kQuantPer * 32 - 1) / (kQuantPer * 32) * 32);
    const size_t bytes =
        std::max(static_cast<size_t>(widest), attention_shared_bytes(args.attention.head_dim, args.attention.max_keys));
    std::vector<std::vector<float>> dynamic(static_cast<size_t>(blocks), std::vector<float>(bytes / 4 + 4));
    std::vector<DecodeShared> shared(static_cast<size_t>(blocks));
    simt::launch(static_cast<unsigned>(blocks), threads, [&] {
      decode_step_layers(args, simt::GridBarrier{}, reinterpret_cast<unsigned char*>(dynamic[blockIdx.x].data()),
                         shared[blockIdx.x]);
    });
  });
}

}  // namespace trit::cuda
