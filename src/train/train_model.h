// The trained model: a BitNet b1.58 decoder in the 2B-4T block design (RMSNorm, GQA attention with
// NEOX RoPE and a sub-norm, squared-ReLU gated FFN with a sub-norm, BitLinear for every projection,
// output tied to the float token embedding), its parameters as one flat vector of latent floats, and
// its forward and backward pass over a batch of sequences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "runtime/thread_pool.h"
#include "train/train_ops.h"

namespace trit::train {

struct ModelConfig {
  int64_t n_vocab = 0;
  int64_t n_embd = 256;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t n_ff = 768;
  int64_t n_ctx = 256;
  float rms_eps = 1e-5f;
  float rope_base = 10000.0f;

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t n_embd_q() const { return n_embd; }
  int64_t n_embd_kv() const { return head_dim() * n_head_kv; }
  // Throws trit::Error (naming the flag) for shapes the block or the I2_S layout cannot hold.
  void validate() const;
};

enum class ParamKind { kEmbedding, kNorm, kLinear };

// One tensor of the flat parameter vector; names are the GGUF tensor names.
struct ParamInfo {
  std::string name;
  int64_t rows = 0, cols = 0;  // a norm is one row
  size_t offset = 0;
  ParamKind kind = ParamKind::kNorm;
  size_t size() const { return static_cast<size_t>(rows * cols); }
};

struct LayerIndex {  // indices into ParamLayout::tensors
  size_t attn_norm, wq, wk, wv, attn_sub_norm, wo, ffn_norm, gate, up, ffn_sub_norm, down;
};

struct ParamLayout {
  ModelConfig config;
  std::vector<ParamInfo> tensors;  // in GGUF order
  size_t token_embd = 0, output_norm = 0;
  std::vector<LayerIndex> layers;
  size_t n_params = 0;

  explicit ParamLayout(const ModelConfig& config);
  const ParamInfo& operator[](size_t i) const { return tensors[i]; }
};

// Linear weights and embeddings ~ N(0, 0.02), norm weights 1; deterministic for a seed.
std::vector<float> init_params(const ParamLayout& layout, uint64_t seed);

// Forward and backward over n_seq sequences of n_tok tokens each (all starting at position 0).
// With quantize (float only), every projection is BitLinear as trit runs it: weights ternarised by
// absmean, activations quantised per token to int8, the products exact integers rescaled as
// kernels::ternary_matvec does; the tied output reads f16-rounded embeddings and inputs as the F16
// output layer does. The backward pass uses the straight-through estimator for all of these roundings.
// Without quantize every projection is a plain float product (for the gradient checks).
template <typename T>
class Transformer {
 public:
  // f16_scales: the weight scales rounded to f16, as the TQ1_0/TQ2_0 blocks store them (I2_S keeps f32).
  Transformer(const ParamLayout& layout, runtime::ThreadPool& pool, bool quantize, bool f16_scales = false);

  // Mean cross-entropy over all positions against targets (empty targets: no loss, returns 0).
  // Keeps what backward needs. With logits non-null, copies out every position's logits.
  double forward(std::span<const T> params, std::span<const int32_t> tokens, std::span<const int32_t> targets,
                 int64_t n_seq, int64_t n_tok, std::vector<T>* logits = nullptr);
  // Gradient of the last forward's mean loss w.r.t. the parameters (grads overwritten).
  void backward(std::span<const T> params, std::span<T> grads);

 private:
  struct Projection {     // one BitLinear's weights as the forward used them
    std::vector<T> wt;    // [in][out] transposed integer values (or latent weights without quantize)
    std::vector<T> vals;  // [out][in]
    T scale = 1;
    int64_t in = 0, out = 0;
  };
  struct Layer {
    std::vector<T> x_in, xq_attn, q, k, v, probs, att, xq_o, x_mid, xq_ffn, g, u, act, xq_down;
    std::vector<T> r_attn, r_sub, r_ffn, r_ffn_sub;
    Projection wq, wk, wv, wo, gate, up, down;
  };

  void prepare_projection(const T* w, int64_t out, int64_t in, Projection& p);
  // y = BitLinear(x) for n rows; keeps the dequantised input in xq.
  void quantize_input(const T* x, int64_t n, int64_t in, std::vector<T>& xq, std::vector<T>& q, std::vector<T>& s);
  void project(const Projection& p, const std::vector<T>& q, const std::vector<T>& s, int64_t n, T* y);
  void project_backward(const Projection& p, const T* dy, const std::vector<T>& xq, int64_t n, T* dx, bool acc_dx,
                        T* dw);
  void norm_rows(const T* x, const T* w, T* y, T* r, int64_t n, int64_t width);
  void norm_rows_backward(const T* x, const T* w, const T* r, const T* dy, T* dx, T* dw, int64_t n, int64_t width);
  void matmul(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_row, int64_t a_col, const T* b, int64_t ldb, T* c,
              bool accumulate);
  void per_row(int64_t n, const std::function<void(int64_t)>& fn);

  const ParamLayout& layout_;
  runtime::ThreadPool& pool_;
  bool quantize_;
  bool f16_scales_;
  RopeTable rope_;
  int64_t n_seq_ = 0, n_tok_ = 0;
  std::vector<int32_t> tokens_, targets_;
  std::vector<Layer> layers_;
  std::vector<T> x_out_, r_out_, xn_out_, logits_, embd_t_, embd_r_;
  std::vector<T> scratch_q_, scratch_s_;
};

extern template class Transformer<float>;
extern template class Transformer<double>;

}  // namespace trit::train
