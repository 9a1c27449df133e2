// A loaded model: the mapped GGUF file, its hyperparameters, weights and tokenizer.
#pragma once

#include <memory>
#include <string>

#include "gguf/reader.h"
#include "model/hparams.h"
#include "model/weights.h"
#include "tokenizer/tokenizer.h"

namespace trit::model {

struct LoadOptions {
  bool show_progress = true;
  // Read the weights into huge-page memory (fast decode) rather than using them in place from the
  // mapped file (faster start, shared page cache).
  bool load_into_memory = true;
  // Quantise an F16/F32 output projection to Q8_0 at load: about half the bytes per token for F16,
  // at the cost of logits that differ slightly from llama.cpp's (which keeps F16).
  bool output_q8 = false;
};

class Model {
 public:
  // Opens, validates and binds everything; throws trit::Error naming the file and what is wrong.
  static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& options = {});

  const gguf::Reader& file() const { return reader_; }
  const HParams& hparams() const { return hparams_; }
  const Weights& weights() const { return weights_; }
  const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }

 private:
  explicit Model(gguf::Reader reader) : reader_(std::move(reader)) {}
  gguf::Reader reader_;
  HParams hparams_;
  Weights weights_;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
};

}  // namespace trit::model
