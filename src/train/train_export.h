// A trained model to GGUF as trit reads the "bitnet-b1.58" architecture (the 2B-4T block): every
// projection ternarised by absmean (the exact values and scale the trainer's forward pass used) and
// stored as I2_S (or TQ2_0 / TQ1_0), norms in F32, the tied token embedding in F16, and the tokenizer.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "tokenizer/vocab.h"
#include "train/train_model.h"

namespace trit::train {

struct ExportOptions {
  std::string path;
  uint32_t type_id = 36;  // i2_s; also tq2_0 (35), tq1_0 (34)
  std::string name = "trit-trained";
};

// Throws trit::Error if the vocabulary's size differs from the model's or the type cannot hold the shapes.
void export_gguf(const ExportOptions& options, const ParamLayout& layout, std::span<const float> params,
                 const tokenizer::Vocab& vocab);

}  // namespace trit::train
