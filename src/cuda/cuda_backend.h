// The forward pass on an NVIDIA GPU: the weights uploaded once (device_weights.h), every sequence's KV
// cache on the device, every step one string of kernels (kernels.h) on one stream. A decode step (one
// new token per sequence) is captured once per batch size as a CUDA graph and replayed, so launch
// overhead does not dominate; everything that changes between steps (positions, caches, the new
// tokens' embeddings) travels in one small upload that the graph itself performs.
#pragma once

#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cuda/device_buffer.h"
#include "cuda/device_weights.h"
#include "model/backend.h"

namespace trit::cuda {

struct CudaOptions {
  int device = 0;
  bool graphs = true;  // replay decode steps as CUDA graphs
  // Prompts of at least this many new tokens attend in tiles of rows on the tensor cores
  // (flash_attention.cu; an f16 cache and a head size it takes); 0: never.
  int flash_min_tokens = 256;
  bool top_k_on_device = true;  // eval_top_k picks the top k on the GPU (else: device_top_k_limit() is 0)
  // A decode step of one sequence runs its layers as one persistent cooperative kernel (decode_step.cu)
  // where the model allows it (every projection ternary, no per-projection or per-head norms,
  // post-norms or sliding window). Off by default: not yet run on a GPU.
  bool persistent_decode = false;
  bool show_progress = true;
};

// Devices the runtime sees ("cuda:0 NVIDIA H200 (139 GiB, sm_90)"), or why none: for `trit --devices`.
std::vector<std::string> list_devices(std::string* why_none = nullptr);

class CudaBackend : public model::Backend {
 public:
  // Throws trit::Error when there is no such device, the model uses something the GPU path lacks, or
  // the device is out of memory.
  CudaBackend(const model::Model& model, const CudaOptions& options = {});
  ~CudaBackend() override;

  std::vector<std::span<const float>> eval(std::span<const model::SequenceInput> batch) override;
  // The layers on the GPU, then the final hidden rows pooled on the host as the CPU pools them.
  std::vector<std::span<const float>> embed(std::span<const model::SequenceInput> batch, bool normalize) override;
  const model::Model& model() const override { return model_; }
  std::string device_name() const override { return name_; }

  // The top k picked on the GPU (top_k_rows), so that only k logits per sequence cross to the host.
  std::vector<model::TopLogits> eval_top_k(std::span<const model::SequenceInput> batch, int k) override;
  int device_top_k_limit() const override { return options_.top_k_on_device ? kMaxTopK : 0; }

  // Greedy decoding without copying logits to the host: runs the batch as eval does and returns the
  // argmax token of each sequence's last position (computed on the GPU).
  std::vector<int32_t> eval_greedy(std::span<const model::SequenceInput> batch);

  int64_t weight_bytes_per_token() const { return weights_.bytes_per_token; }
  // Decode steps run so far as the persistent kernel (CudaOptions::persistent_decode).
  int64_t persistent_steps() const { return persistent_steps_; }

 private:
  struct Step;
  // What a step brings back to the host: every output row's logits, its argmax, its top k logits, or
  // (embeddings) every row's final hidden state, before the output norm.
  struct Output {
    enum Kind { kLogits = 0, kArgmax = 1, kTopK = 2, kHidden = 3 } kind = kLogits;
    int k = 0;
  };
  void prepare(std::span<const model::SequenceInput> batch, Step& step);
  void ensure_capacity(int64_t rows, int64_t out_rows);
  void ensure_context(int64_t n_ctx);
  void enqueue(const Step& step, Output output);  // the whole step on stream_
  void run(const Step& step, Output output);
  cudaGraphExec_t capture(const Step& step, Output output);  // the step recorded as a graph
  // prepare, run, and advance every sequence's cache past its tokens.
  void run_batch(std::span<const model::SequenceInput> batch, Output output, Step& step);
  // Steps for outputs of the last token only (eval_top_k, eval_greedy).
  void run_last_tokens(std::span<const model::SequenceInput> batch, Output output, Step& step);
  void clear_graphs();
  // Where the step's embedding rows start in step_host_ (after the row descriptors and output rows).
  size_t step_x_offset() const;

  const model::Model& model_;
  CudaOptions options_;
  std::string name_;
  bool flash_ = false;  // flash attention on, for a head size the kernel takes
  // The model's layers for decode_step ([n_layer] DecodeLayer on the device), when options_ ask for it
  // and the model allows it; persistent_ctx_ is the context decode_step is readied for (0: not yet).
  DeviceBuffer persistent_layers_;
  bool persistent_ = false;
  int64_t persistent_ctx_ = 0;
  int persistent_blocks_ = 0;  // decode_step's grid for persistent_ctx_
  int64_t persistent_steps_ = 0;
  // Whether the step runs as decode_step (readying it for the current context first: call before any
  // capture).
  bool use_persistent(const Step& step);
  cudaStream_t stream_ = nullptr;
  DeviceWeights weights_;

  // Scratch sized for capacity_ rows (out_capacity_ output rows); graphs refer to it, so growing it
  // drops them.
  int64_t capacity_ = 0, out_capacity_ = 0, ctx_capacity_ = 0;
  DeviceBuffer x_, qkv_, att_, gate_up_, normed_, q_, q_scale_, q_sum_, xo_, logits_, ids_, step_;
  DeviceBuffer xn_, o_;  // a first norm's rows before a second (embedding models); post-normed outputs (Gemma)
  DeviceBuffer top_scratch_, top_logits_, top_ids_;                 // top_k_rows' passes and result
  DeviceBuffer rope_cos_, rope_sin_, rope_swa_cos_, rope_swa_sin_;  // [position][n_rot / 2]; SWA layers' own
  PinnedBuffer step_host_, logits_host_, ids_host_, top_logits_host_, top_ids_host_, hidden_host_;
  std::vector<float> embeddings_;              // embed()'s pooled vectors
  std::map<int64_t, cudaGraphExec_t> graphs_;  // by decode batch size, cache type and output
};

}  // namespace trit::cuda
