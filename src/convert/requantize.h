// `trit quantize`: rewrite a GGUF model with its ternary linear weights in another ternary type (and,
// optionally, the token embedding and output projection in another float type), one tensor at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trit::convert {

struct RequantizeOptions {
  std::string input;
  std::string output;
  uint32_t ternary_type = 36;           // the linear weights: i2_s (36), tq1_0 (34) or tq2_0 (35)
  std::optional<uint32_t> embed_type;   // token_embd.weight: f32, f16, bf16 or q8_0; unset: kept as is
  std::optional<uint32_t> output_type;  // output.weight (untied models): same choices; unset: kept as is
  bool show_progress = true;
};

// What was done, for the closing message.
struct RequantizeSummary {
  int n_repacked = 0;               // ternary tensors re-packed exactly (codes and scales carried over)
  int n_float_exact = 0;            // float linear weights already ternary ({-s, 0, s}), taken exactly
  int n_ternarised = 0;             // float linear weights ternarised (absmean: latent weights)
  int n_recoded = 0;                // float tensors converted to another float type (embedding, output)
  int n_copied = 0;                 // tensors copied byte for byte
  int n_scale_rounded = 0;          // per-tensor float32 scales rounded to the f16 block scales of tq1_0/tq2_0
  bool output_type_unused = false;  // --output-type given, but the model has no output.weight (tied)
  uint64_t n_bytes_in = 0;
  uint64_t n_bytes_out = 0;
};

// Reads options.input, writes options.output. Every problem (a tensor the target type cannot hold,
// a tensor that cannot be converted exactly) is found before anything is written and throws
// trit::Error naming the file, the tensor and its shape.
RequantizeSummary requantize(const RequantizeOptions& options);

// Type names for the command line ("i2_s", "TQ1_0", ...); throw trit::Error listing the choices.
// `what` names the flag or argument in the message.
uint32_t parse_ternary_type(std::string_view name, std::string_view what);
uint32_t parse_float_type(std::string_view name, std::string_view what);

// general.file_type (llama.cpp's llama_ftype) for a file whose linear weights have this ggml type:
// f32 0, f16 1, q8_0 7, bf16 32, tq1_0 36, tq2_0 37 (llama.cpp); i2_s 40 as bitnet.cpp's converter
// writes it (LLAMA_FTYPE_MOSTLY_I2_S); tl1 / tl2 their ggml ids 38 / 39 (bitnet.cpp's converter).
uint32_t llama_file_type(uint32_t linear_type_id);

}  // namespace trit::convert
