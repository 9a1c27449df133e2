// Uploading a loaded model's weights to the GPU (device_weights.h).
#include "cuda/device_weights.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "runtime/error.h"
#include "runtime/progress.h"
#include "runtime/thread_pool.h"
#include "tensor/codec.h"

namespace trit::cuda {
namespace {

// For weight i of a 128-weight block: its byte and shift in the CPU's I2 block and in the GPU's.
struct Move {
  uint8_t src_byte, src_shift, dst_byte, dst_shift;
};

std::array<Move, 128> make_moves() {
  std::array<Move, 128> m{};
  for (int i = 0; i < 128; ++i) {
    const int within = i % 64;
    m[i] = {static_cast<uint8_t>(i % 32), static_cast<uint8_t>(6 - 2 * (i / 32)),
            static_cast<uint8_t>((i / 64) * 16 + (within / 16) * 4 + within % 4),
            static_cast<uint8_t>(2 * ((within % 16) / 4))};
  }
  return m;
}

const std::array<Move, 128> kMoves = make_moves();

const model::Linear* ternary_or_null(const model::Linear& l) {
  return l.kind == model::Linear::Kind::kI2 ? &l : nullptr;
}

// What the kernels cannot take: widths the vectorised loads need, head sizes past the per-thread arrays.
void reject_unsupported(const model::Model& model) {
  const model::HParams& h = model.hparams();
  if (h.n_embd % 8 != 0 || h.n_ff % 8 != 0 || h.n_embd_q() % 8 != 0)
    trit::fail("--device cuda needs widths that are multiples of 8 (n_embd {}, n_ff {}, n_embd_q {})", h.n_embd, h.n_ff,
               h.n_embd_q());
  if (h.rope.n_rot > h.head_dim || h.head_dim > 512)
    trit::fail("--device cuda needs head_dim <= 512 and n_rot <= head_dim (got {} and {})", h.head_dim, h.rope.n_rot);
}

class Uploader {
 public:
  Uploader(bool show_progress, int64_t total)
      : bar_("upload to GPU", static_cast<uint64_t>(total), runtime::ProgressBar::Unit::kBytes, !show_progress) {}
  ~Uploader() { bar_.finish(); }

  // Ternary parts fused into one matrix, rows in the order given.
  DeviceLinear ternary(const std::vector<const model::Linear*>& parts) {
    DeviceLinear d;
    d.ternary = true;
    const int64_t padded = parts[0]->i2.padded_cols;
    int64_t rows = 0;
    for (const model::Linear* p : parts) {
      if (p->i2.padded_cols != padded) trit::fail("fused ternary layers of different widths ({})", p->name);
      rows += p->rows;
    }
    const int64_t row_bytes = padded / 4;
    std::vector<uint8_t> codes(static_cast<size_t>(rows * row_bytes));
    std::vector<float> scales(static_cast<size_t>(2 * rows));
    int64_t r0 = 0;
    for (const model::Linear* p : parts) {
      pool_.parallel_for(
          p->rows,
          [&](int64_t a, int64_t b) {
            for (int64_t r = a; r < b; ++r) repack_i2_row(p->i2.row(r), padded, codes.data() + (r0 + r) * row_bytes);
          },
          64);
      std::fill_n(scales.begin() + r0, p->rows, p->i2.scale);
      std::fill_n(scales.begin() + rows + r0, p->rows, p->out_scale);
      r0 += p->rows;
    }
    d.rows = static_cast<int>(rows);
    d.cols = static_cast<int>(parts[0]->cols);
    d.codes = DeviceBuffer(codes.size());
    d.codes.upload(codes.data(), codes.size());
    d.scales = DeviceBuffer(scales.size() * sizeof(float));
    d.scales.upload(scales.data(), scales.size() * sizeof(float));
    d.t = {d.codes.get<uint8_t>(), d.rows, static_cast<int>(padded), d.scales.get<float>(),
           d.scales.get<float>() + rows};
    d.bytes = static_cast<int64_t>(codes.size());
    max_padded_cols_ = std::max(max_padded_cols_, static_cast<int>(padded));
    done(d.bytes);
    return d;
  }

  // Any other linear layer, as half precision.
  DeviceLinear dense(const model::Linear& l) {
    using Kind = model::Linear::Kind;
    if (l.kind == Kind::kTernaryRef)
      trit::fail(
          "--device cuda needs one scale per ternary matrix; '{}' has one per block (convert it with "
          "`trit quantize ... i2_s`, or use --device cpu)",
          l.name);
    if (l.out_scale != 1.0f) trit::fail("--device cuda: '{}' is a float matrix with an output scale", l.name);
    DeviceLinear d;
    d.rows = static_cast<int>(l.rows);
    d.cols = static_cast<int>(l.cols);
    const size_t n = static_cast<size_t>(l.rows * l.cols);
    d.f16_data = DeviceBuffer(n * sizeof(uint16_t));
    if (l.kind == Kind::kF16) {
      d.f16_data.upload(l.f16, n * sizeof(uint16_t));
    } else {
      std::vector<uint16_t> half(n);
      pool_.parallel_for(
          l.rows,
          [&](int64_t a, int64_t b) {
            for (int64_t r = a; r < b; ++r)
              for (int64_t c = 0; c < l.cols; ++c) {
                const int64_t i = r * l.cols + c;
                float v;
                if (l.kind == Kind::kF32) {
                  v = l.f32[i];
                } else {  // Q8_0: 32-value blocks of an f16 scale and 32 int8
                  const uint8_t* block = l.q8 + (i / 32) * 34;
                  uint16_t d16;
                  std::memcpy(&d16, block, 2);
                  v = tensor::f16_to_f32(d16) * static_cast<float>(static_cast<int8_t>(block[2 + i % 32]));
                }
                half[static_cast<size_t>(i)] = tensor::f32_to_f16(v);
              }
          },
          16);
      d.f16_data.upload(half.data(), n * sizeof(uint16_t));
    }
    d.f16 = d.f16_data.get<uint16_t>();
    d.bytes = static_cast<int64_t>(n * sizeof(uint16_t));
    done(d.bytes);
    return d;
  }

  DeviceLinear any(const model::Linear& l) { return ternary_or_null(l) ? ternary({&l}) : dense(l); }
  int max_padded_cols() const { return max_padded_cols_; }
  // Bytes of every matrix uploaded so far: what a token reads, each matrix once.
  int64_t uploaded() const { return uploaded_; }

 private:
  void done(int64_t bytes) {
    uploaded_ += bytes;
    bar_.add(static_cast<uint64_t>(bytes));
  }
  runtime::ProgressBar bar_;
  runtime::ThreadPool pool_;
  int max_padded_cols_ = 128;
  int64_t uploaded_ = 0;
};

int64_t upload_estimate(const model::Model& model) {
  int64_t total = model.weights().output.weight_bytes();
  for (const model::LayerWeights& l : model.weights().layers)
    for (const model::Linear* p : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      total += p->kind == model::Linear::Kind::kI2 ? p->weight_bytes() : p->rows * p->cols * 2;
  return total;
}

}  // namespace

void repack_i2_row(const uint8_t* cpu_row, int64_t padded_cols, uint8_t* gpu_row) {
  std::memset(gpu_row, 0, static_cast<size_t>(padded_cols / 4));
  for (int64_t b = 0; b < padded_cols / 128; ++b) {
    const uint8_t* src = cpu_row + b * 32;
    uint8_t* dst = gpu_row + b * 32;
    for (const Move& m : kMoves)
      dst[m.dst_byte] |= static_cast<uint8_t>(((src[m.src_byte] >> m.src_shift) & 3) << m.dst_shift);
  }
}

DeviceWeights DeviceWeights::upload(const model::Model& model, bool show_progress) {
  reject_unsupported(model);
  const model::HParams& h = model.hparams();
  const model::Weights& w = model.weights();
  DeviceWeights dw;

  // Norms: gathered on the host, one upload, then pointers into it.
  std::vector<float> norms;
  std::vector<std::pair<const float**, size_t>> fixups;
  dw.layers.resize(static_cast<size_t>(h.n_layer));
  auto add_norm = [&](const std::vector<float>& v, const float** slot) {
    if (v.empty()) return;
    fixups.emplace_back(slot, norms.size());
    norms.insert(norms.end(), v.begin(), v.end());
  };
  for (int64_t l = 0; l < h.n_layer; ++l) {
    const model::LayerWeights& lw = w.layers[l];
    DeviceLayer& dl = dw.layers[l];
    add_norm(lw.attn_norm, &dl.attn_norm);
    add_norm(lw.attn_sub_norm, &dl.attn_sub_norm);
    add_norm(lw.ffn_norm, &dl.ffn_norm);
    add_norm(lw.ffn_sub_norm, &dl.ffn_sub_norm);
    add_norm(lw.attn_q_norm, &dl.attn_q_norm);
    add_norm(lw.attn_k_norm, &dl.attn_k_norm);
    add_norm(lw.post_attn_norm, &dl.post_attn_norm);
    add_norm(lw.post_ffw_norm, &dl.post_ffw_norm);
    const std::vector<float>* norm_in[kNormInCount] = {&lw.q_norm_in,    &lw.k_norm_in,  &lw.v_norm_in,   &lw.o_norm_in,
                                                       &lw.gate_norm_in, &lw.up_norm_in, &lw.down_norm_in};
    for (int i = 0; i < kNormInCount; ++i) add_norm(*norm_in[i], &dl.norm_in[i]);
  }
  add_norm(w.output_norm, &dw.output_norm);
  dw.norms = DeviceBuffer(norms.size() * sizeof(float));
  dw.norms.upload(norms.data(), norms.size() * sizeof(float));
  for (const auto& [slot, offset] : fixups) *slot = dw.norms.get<float>() + offset;

  Uploader up(show_progress, upload_estimate(model));
  // Parts with their own input norms cannot share one quantised input: each stays a matrix of its own.
  auto fused = [&](std::vector<const model::Linear*> parts, std::vector<DeviceLinear>& out, bool own_inputs) {
    bool all = !own_inputs;
    for (const model::Linear* p : parts) all = all && ternary_or_null(*p) && p->cols == parts[0]->cols;
    if (all) {
      out.push_back(up.ternary(parts));
    } else {
      for (const model::Linear* p : parts) out.push_back(up.any(*p));
    }
  };
  for (int64_t l = 0; l < h.n_layer; ++l) {
    const model::LayerWeights& lw = w.layers[l];
    DeviceLayer& dl = dw.layers[l];
    fused({&lw.wq, &lw.wk, &lw.wv}, dl.qkv, lw.has_norm_in());
    dl.wo = up.any(lw.wo);
    fused({&lw.ffn_gate, &lw.ffn_up}, dl.gate_up, lw.has_norm_in());
    dl.down = up.any(lw.ffn_down);
    for (const DeviceLinear* d : {&dl.wo, &dl.down}) dl.needs_float_input = dl.needs_float_input || !d->ternary;
    for (const auto* group : {&dl.qkv, &dl.gate_up})
      for (const DeviceLinear& d : *group) dl.needs_float_input = dl.needs_float_input || !d.ternary;
  }
  dw.output = up.any(w.output);
  dw.max_padded_cols = up.max_padded_cols();
  dw.bytes_per_token = up.uploaded();
  return dw;
}

}  // namespace trit::cuda
