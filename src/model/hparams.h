// Hyperparameters of a model, read from GGUF metadata (<arch>.* keys), and the architecture table:
// which names trit runs and how each one's block is wired.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/activations.h"
#include "kernels/rope.h"

namespace trit::gguf {
class Reader;
}

namespace trit::model {

// How one architecture's transformer block differs from the others.
struct ArchTraits {
  const char* name;                // general.architecture
  bool sub_norms;                  // RMSNorm before attn_output and ffn_down (BitNet's extra norms)
  kernels::FfnActivation ffn_act;  // default activation of the gated FFN
  kernels::RopeStyle rope_style;   // NEOX pairing for BitNet (no Q/K permutation), NORM for llama
};

// The architectures trit runs:
//   bitnet        1bitLLM bitnet_b1_58-large/-3B as bitnet.cpp and llama.cpp write them (SiLU, sub-norms)
//   bitnet-b1.58  BitNet-b1.58-2B-4T as bitnet.cpp writes it (ReLU², sub-norms, GQA)
//   bitnet-25     the same graph, written by bitnet.cpp's convert-ms-to-gguf-bitnet.py
//   llama         llama-shaped ternary models (Llama3-8B-1.58-100B-tokens, Falcon3-*-1.58bit)
// Returns null for any other name.
const ArchTraits* find_arch(const std::string& name);
std::string known_arch_names();  // "bitnet, bitnet-b1.58, bitnet-25, llama"

struct HParams {
  std::string arch;
  ArchTraits traits{};
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // n_embd / n_head unless the file says otherwise
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  float rms_eps = 1e-5f;
  kernels::RopeParams rope;
  kernels::FfnActivation ffn_act = kernels::FfnActivation::kSilu;

  int64_t n_embd_q() const { return n_head * head_dim; }
  int64_t n_embd_kv() const { return n_head_kv * head_dim; }

  // Reads and validates every key; throws trit::Error naming the file and key for missing keys,
  // unknown architectures, non-positive sizes and inconsistent head counts.
  static HParams from_gguf(const gguf::Reader& reader);
};

}  // namespace trit::model
