// The training loop, validation, and the bookkeeping around them (resume, time budget, export).
#include "train/train_loop.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "gguf/ggml_type.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"
#include "train/train_checkpoint.h"
#include "train/train_export.h"
#include "train/train_optimizer.h"

namespace trit::train {
namespace {

std::string duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

bool same_shape(const ModelConfig& a, const ModelConfig& b) {
  return a.n_vocab == b.n_vocab && a.n_embd == b.n_embd && a.n_layer == b.n_layer && a.n_head == b.n_head &&
         a.n_head_kv == b.n_head_kv && a.n_ff == b.n_ff && a.n_ctx == b.n_ctx && a.rms_eps == b.rms_eps &&
         a.rope_base == b.rope_base;
}

std::string shape_text(const ModelConfig& c) {
  return fmt::format("vocab {}, dim {}, layers {}, heads {}/{} kv, ffn {}, ctx {}", c.n_vocab, c.n_embd, c.n_layer,
                     c.n_head, c.n_head_kv, c.n_ff, c.n_ctx);
}

}  // namespace

double evaluate(Transformer<float>& model, std::span<const float> params, const std::vector<int32_t>& tokens,
                int64_t n_ctx, int64_t batch, int64_t max_windows) {
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  int64_t n_windows = n_tokens > n_ctx ? (n_tokens - 1) / n_ctx : 0;
  if (max_windows > 0) n_windows = std::min(n_windows, max_windows);
  if (n_windows == 0) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0.0;
  std::vector<int32_t> in, target;
  for (int64_t w0 = 0; w0 < n_windows; w0 += batch) {
    const int64_t nb = std::min(batch, n_windows - w0);
    in.clear();
    target.clear();
    for (int64_t w = w0; w < w0 + nb; ++w) {
      const int32_t* start = tokens.data() + w * n_ctx;
      in.insert(in.end(), start, start + n_ctx);
      target.insert(target.end(), start + 1, start + n_ctx + 1);
    }
    sum += model.forward(params, in, target, nb, n_ctx) * static_cast<double>(nb);
  }
  return sum / static_cast<double>(n_windows);
}

TrainResult train(const TrainOptions& o, const std::vector<int32_t>& tokens, const tokenizer::Vocab& vocab,
                  const std::function<void(const std::string&)>& log) {
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t_start).count(); };

  ModelConfig cfg = o.config;
  cfg.validate();
  if (o.batch <= 0) trit::fail("--batch must be positive (got {})", o.batch);
  if (o.steps <= 0) trit::fail("--steps must be positive (got {})", o.steps);
  if (!(o.val_fraction >= 0.0 && o.val_fraction < 1.0)) trit::fail("--val-fraction must be in [0, 1)");
  const int64_t T = cfg.n_ctx, B = o.batch;
  const size_t n_val = static_cast<size_t>(static_cast<double>(tokens.size()) * o.val_fraction);
  const std::vector<int32_t> train_tokens(tokens.begin(), tokens.end() - static_cast<std::ptrdiff_t>(n_val));
  const std::vector<int32_t> val_tokens(tokens.end() - static_cast<std::ptrdiff_t>(n_val), tokens.end());
  const int64_t n_train = static_cast<int64_t>(train_tokens.size());
  if (n_train < T + 2)
    trit::fail("the training text has {} tokens after the held-out {}; --ctx {} needs at least {}", n_train, n_val, T,
               T + 2);
  for (int32_t id : tokens)
    if (id < 0 || id >= cfg.n_vocab) trit::fail("token id {} is outside the vocabulary of {}", id, cfg.n_vocab);

  const ParamLayout layout(cfg);
  runtime::ThreadPool pool(o.n_threads);
  std::vector<float> params = init_params(layout, o.seed);
  AdamW opt(layout, {0.9f, 0.95f, 1e-8f, static_cast<float>(o.weight_decay)});
  const uint64_t data_hash = hash_tokens(train_tokens);
  int64_t step0 = 0;
  if (o.resume) {
    if (o.checkpoint.empty()) trit::fail("--resume needs --checkpoint FILE");
    Checkpoint ck = load_checkpoint(o.checkpoint);
    if (!same_shape(ck.config, cfg))
      trit::fail("{}: the checkpoint is of another model shape ({}) than the flags ask for ({})", o.checkpoint,
                 shape_text(ck.config), shape_text(cfg));
    if (ck.data_hash != data_hash)
      trit::fail("{}: the checkpoint was trained on other tokens (another text, tokenizer or --val-fraction)",
                 o.checkpoint);
    if (ck.seed != o.seed)
      trit::fail("{}: the checkpoint was trained with --seed {}, not {}", o.checkpoint, ck.seed, o.seed);
    params = std::move(ck.params);
    opt.m() = std::move(ck.m);
    opt.v() = std::move(ck.v);
    opt.set_n_steps(ck.adam_steps);
    step0 = ck.step;
    log(fmt::format("resumed from {} at step {}", o.checkpoint, step0));
  }
  log(fmt::format("model: {} ({:.2f}M parameters, {:.2f}M in BitLinear layers)", shape_text(cfg),
                  static_cast<double>(layout.n_params) / 1e6,
                  static_cast<double>(layout.n_params - layout[layout.token_embd].size()) / 1e6));
  log(fmt::format("data: {} training tokens, {} held out; {} tokens per step; {} threads", n_train, n_val, B * T,
                  pool.n_threads()));

  // TQ1_0/TQ2_0 store the weight scales in f16: train with those, so the export computes what training did.
  const bool f16_scales = o.type_id != static_cast<uint32_t>(gguf::GgmlType::I2_S);
  Transformer<float> model(layout, pool, /*quantize=*/true, f16_scales);
  std::vector<float> grads(layout.n_params);
  std::vector<int32_t> in(static_cast<size_t>(B * T)), target(in.size());
  TrainResult result;
  result.val_loss = std::numeric_limits<double>::quiet_NaN();
  auto validate = [&](int64_t step) {
    if (val_tokens.size() < static_cast<size_t>(T + 1)) return;
    result.val_loss = evaluate(model, params, val_tokens, T, B, o.val_windows);
    log(fmt::format("step {} | val loss {:.4f} | val ppl {:.2f}", step, result.val_loss, std::exp(result.val_loss)));
  };
  auto save = [&](int64_t step) {
    if (o.checkpoint.empty()) return;
    save_checkpoint(o.checkpoint, {cfg, o.seed, step, opt.n_steps(), data_hash, params, opt.m(), opt.v()});
  };

  const auto t_loop = Clock::now();
  int64_t step = step0;
  double interval_loss = 0.0;
  int64_t interval_n = 0;
  for (; step < o.steps; ++step) {
    if (o.stop_at > 0 && step >= o.stop_at) {
      log(fmt::format("stopping at step {} (--stop-at)", step));
      break;
    }
    if (o.max_minutes > 0 && elapsed() > o.max_minutes * 60.0) {
      log(fmt::format("time budget of {} minutes reached at step {}: stopping", o.max_minutes, step));
      break;
    }
    std::seed_seq seq{o.seed, static_cast<uint64_t>(step)};
    std::mt19937_64 rng(seq);
    std::uniform_int_distribution<int64_t> offset(0, n_train - T - 1);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t s = offset(rng);
      std::copy(train_tokens.begin() + s, train_tokens.begin() + s + T, in.begin() + b * T);
      std::copy(train_tokens.begin() + s + 1, train_tokens.begin() + s + T + 1, target.begin() + b * T);
    }
    const double loss = model.forward(params, in, target, B, T);
    if (!std::isfinite(loss)) trit::fail("the loss is {} at step {}: lower --lr", loss, step);
    model.backward(params, grads);
    const double gnorm = clip_grad_norm(grads, o.grad_clip);
    const double lr = learning_rate(step, o.steps, o.warmup, o.lr, o.min_lr_ratio);
    opt.step(params, grads, lr, pool);
    result.losses.push_back(loss);
    interval_loss += loss;
    ++interval_n;
    if (o.log_every > 0 && ((step + 1) % o.log_every == 0 || step + 1 == o.steps)) {
      const double secs = std::chrono::duration<double>(Clock::now() - t_loop).count();
      const double per_step = secs / static_cast<double>(step + 1 - step0);
      double eta = per_step * static_cast<double>(o.steps - step - 1);
      if (o.max_minutes > 0) eta = std::min(eta, o.max_minutes * 60.0 - elapsed());
      result.train_loss = interval_loss / static_cast<double>(interval_n);
      log(fmt::format("step {}/{} | loss {:.4f} | lr {:.2e} | grad norm {:.2f} | {:.0f} tok/s | {} elapsed | eta {}",
                      step + 1, o.steps, result.train_loss, lr, gnorm,
                      static_cast<double>((step + 1 - step0) * B * T) / secs, duration(elapsed()), duration(eta)));
      interval_loss = 0.0;
      interval_n = 0;
    }
    if (o.eval_every > 0 && (step + 1) % o.eval_every == 0 && step + 1 < o.steps) {
      validate(step + 1);
      save(step + 1);
    }
  }
  if (interval_n > 0) result.train_loss = interval_loss / static_cast<double>(interval_n);
  result.steps_done = step;
  const double loop_secs = std::chrono::duration<double>(Clock::now() - t_loop).count();
  result.tokens_per_second = loop_secs > 0 ? static_cast<double>((step - step0) * B * T) / loop_secs : 0.0;
  validate(step);
  save(step);
  if (!o.output.empty()) {
    export_gguf({o.output, o.type_id, o.name}, layout, params, vocab);
    log(fmt::format("wrote {}", o.output));
  }
  result.seconds = elapsed();
  return result;
}

}  // namespace trit::train
