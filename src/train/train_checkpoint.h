// Training checkpoints: one binary file with the model shape, the latent float weights, AdamW's
// moments, the step and the seed (the batches are drawn from (seed, step), so no other RNG state is
// needed to resume exactly where a run stopped).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/train_model.h"

namespace trit::train {

struct Checkpoint {
  ModelConfig config;
  uint64_t seed = 0;
  int64_t step = 0;        // steps completed
  int64_t adam_steps = 0;  // AdamW's bias-correction counter
  uint64_t data_hash = 0;  // of the training tokens, to refuse a resume on other data
  std::vector<float> params, m, v;
};

// Written to path + ".tmp" and renamed over path, so a crash never leaves half a checkpoint.
void save_checkpoint(const std::string& path, const Checkpoint& c);
// Throws trit::Error naming the file for anything that is not a complete checkpoint of this format.
Checkpoint load_checkpoint(const std::string& path);

// FNV-1a over token ids.
uint64_t hash_tokens(const std::vector<int32_t>& tokens);

}  // namespace trit::train
