// Writing the hyperparameter metadata a model file needs (general.* and <arch>.*, the keys hparams.cpp
// reads), shared by every writer of whole models: gen-dummy, trit convert and trit train.
#pragma once

#include <cstdint>
#include <string>

#include "gguf/writer.h"

namespace trit::model {

struct ArchMetadata {
  std::string arch;  // general.architecture
  std::string name;  // general.name
  uint32_t file_type = 0;
  int64_t n_vocab = 0, n_ctx = 0, n_embd = 0, n_layer = 0, n_ff = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
  double rope_base = 10000.0, rms_eps = 1e-5;
};

// Writes the keys in llama.cpp's order; attention.key_length/value_length only when head_dim is not
// n_embd / n_head.
void write_arch_metadata(gguf::Writer& w, const ArchMetadata& m);

}  // namespace trit::model
