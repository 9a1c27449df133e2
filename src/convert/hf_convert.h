// `trit convert`: a Hugging Face BitNet b1.58 checkpoint folder -> one GGUF file, streamed one tensor
// at a time from the memory-mapped safetensors (an 8B checkpoint converts in far less memory than its
// size). See docs/convert.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "convert/hf_arch.h"
#include "gguf/ggml_type.h"
#include "tensor/ternary.h"

namespace trit::convert {

struct ConvertOptions {
  std::filesystem::path hf_dir;
  std::string out_path;
  uint32_t type_id = static_cast<uint32_t>(gguf::GgmlType::I2_S);       // BitLinear weights
  uint32_t embed_type_id = static_cast<uint32_t>(gguf::GgmlType::F16);  // token_embd / output
  std::string arch_override;                                            // replaces config.json's architectures[0]
  bool show_progress = true;
};

struct ConvertSummary {
  HfModel model;
  int64_t n_tensors = 0;
  uint64_t n_bytes = 0;  // tensor data written
};

// Throws trit::Error naming the folder, file and tensor for anything it cannot convert: unknown
// architectures, missing or unexpected tensors, shapes that disagree with config.json, types the
// shapes cannot be stored in. A file left unfinished is removed.
ConvertSummary convert_hf(const ConvertOptions& options);

// Building blocks (tested on their own).

// transformers' packed BitNet weights (integrations/bitnet.py): a uint8 tensor [rows/4][cols]; the
// value of row r, column c is bits 2(r / (rows/4)) .. +1 of byte [r % (rows/4)][c], minus 1.
// Throws trit::Error for the unused code 3, naming `what`.
std::vector<int8_t> unpack_hf_ternary(std::span<const uint8_t> packed, int64_t rows, int64_t cols,
                                      const std::string& what);

// Float weights -> ternary: absmean (tensor/ternary.h), except that weights already ternarised
// (every nonzero |w| equal, as bitnet.cpp's preprocess script writes them) keep their exact scale.
tensor::TernaryMatrix ternarize_weights(std::span<const float> w, int64_t rows, int64_t cols);

// Reorders the rows of a Q or K projection from Hugging Face's RoPE pairing (i, i + d/2) to ggml's
// NORM pairing (2i, 2i + 1), per head of head_dim rows, as llama.cpp's converter does for llama.
void permute_qk_rows(tensor::TernaryMatrix& m, int64_t n_heads);

}  // namespace trit::convert
