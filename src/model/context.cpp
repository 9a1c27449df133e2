// Context: one KV cache and a backend's forward pass, for `trit run`, `chat`, `bench` and the tests.
#include "model/context.h"

#include <algorithm>

namespace trit::model {

int64_t resolve_n_ctx(const Model& model, int64_t n_ctx) {
  return n_ctx > 0 ? n_ctx : std::min<int64_t>(model.hparams().n_ctx_train, 4096);
}

Context::Context(const Model& model, const ContextOptions& options)
    : Context(std::make_unique<Forward>(model, options.n_threads), options) {}

Context::Context(std::unique_ptr<Backend> backend, const ContextOptions& options)
    : backend_(std::move(backend)),
      cache_(backend_->model().hparams(), resolve_n_ctx(backend_->model(), options.n_ctx), options.kv_type) {}

std::span<const float> Context::eval(std::span<const int32_t> tokens, bool all_logits) {
  const SequenceInput input{&cache_, tokens, all_logits};
  return backend_->eval({&input, 1})[0];
}

TopLogits Context::eval_top_k(std::span<const int32_t> tokens, int k) {
  const SequenceInput input{&cache_, tokens, false};
  return backend_->eval_top_k({&input, 1}, k)[0];
}

}  // namespace trit::model
