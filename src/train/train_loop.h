// `trit train`'s loop: a text tokenised and split (training head, held-out tail), random windows drawn
// per step from (seed, step), forward, backward, clipping, AdamW on a warm-up + cosine schedule,
// validation every N steps, checkpoints that resume, a time budget, and the GGUF export at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tokenizer/vocab.h"
#include "train/train_model.h"

namespace trit::train {

struct TrainOptions {
  ModelConfig config;    // n_vocab comes from the tokenizer
  int64_t batch = 16;    // sequences per step
  int64_t steps = 1000;  // schedule length (the run may stop earlier at max_minutes)
  double lr = 2e-3;
  int64_t warmup = 100;
  double min_lr_ratio = 0.1;  // cosine floor, as a fraction of lr
  double weight_decay = 0.1;
  double grad_clip = 1.0;
  uint64_t seed = 42;
  int n_threads = 0;
  double val_fraction = 0.05;  // tail of the token stream held out
  int64_t eval_every = 100;    // validation (and checkpoint) interval in steps; 0: only at the end
  int64_t val_windows = 64;    // at most this many ctx-long held-out windows per validation; 0: all
  int64_t log_every = 10;
  double max_minutes = 0.0;  // > 0: stop cleanly after this long (then validate, checkpoint, export)
  int64_t stop_at = 0;       // > 0: stop cleanly before this step (the schedule still spans `steps`)
  std::string checkpoint;    // path; empty: none
  bool resume = false;       // continue from `checkpoint`
  std::string output;        // GGUF path; empty: no export
  uint32_t type_id = 36;     // i2_s
  std::string name = "trit-trained";
};

struct TrainResult {
  int64_t steps_done = 0;
  double train_loss = 0.0;  // mean of the last logged interval
  double val_loss = 0.0;    // last validation (NaN without held-out data)
  double seconds = 0.0;
  double tokens_per_second = 0.0;
  std::vector<double> losses;  // every step's loss
};

// Trains on tokens (already encoded) for a vocabulary of n_vocab; lines of progress go to log.
// The vocabulary is needed only for the export (options.output).
TrainResult train(const TrainOptions& options, const std::vector<int32_t>& tokens, const tokenizer::Vocab& vocab,
                  const std::function<void(const std::string&)>& log);

// Mean loss of the model on up to max_windows non-overlapping windows of n_ctx + 1 tokens (0: all).
double evaluate(Transformer<float>& model, std::span<const float> params, const std::vector<int32_t>& tokens,
                int64_t n_ctx, int64_t batch, int64_t max_windows);

}  // namespace trit::train
