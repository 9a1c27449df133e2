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
  bool qk_norm = false;            // RMSNorm over each head of Q and K before RoPE (Qwen3, Gemma 3)
  bool post_norms = false;         // RMSNorm of the attention and FFN outputs before the residual add (Gemma 3)
  bool embd_scale = false;         // token embeddings multiplied by sqrt(n_embd) (Gemma 3)
  int swa_pattern = 0;             // with a sliding window: every swa_pattern-th layer is global (Gemma 3: 6)
};

// How an embedding model turns a sequence's final hidden states (after output_norm) into one vector
// (llama.cpp's <arch>.pooling_type: 0 none, 1 mean, 2 cls, 3 last).
enum class Pooling { kNone = 0, kMean = 1, kCls = 2, kLast = 3 };

// The architectures trit runs:
//   bitnet        1bitLLM bitnet_b1_58-large/-3B as bitnet.cpp and llama.cpp write them (SiLU, sub-norms)
//   bitnet-b1.58  BitNet-b1.58-2B-4T as bitnet.cpp writes it (ReLU², sub-norms, GQA)
//   bitnet-25     the same graph, written by bitnet.cpp's convert-ms-to-gguf-bitnet.py
//   llama         llama-shaped ternary models (Llama3-8B-1.58-100B-tokens, Falcon3-*-1.58bit)
//   qwen3         Qwen3 blocks (per-head Q/K norms, SiLU): BitNet-embedding-0.6B as bitnet.cpp writes it
//   gemma3        Gemma 3 blocks (Q/K norms, post-norms, GELU, scaled embeddings): BitNet-embedding-270M
// The two embedding models add an RMSNorm before every projection (blk.N.<proj>_norm_in.weight, bound
// when present). Returns null for any other name.
const ArchTraits* find_arch(const std::string& name);
std::string known_arch_names();  // "bitnet, bitnet-b1.58, bitnet-25, llama, qwen3, gemma3"

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
  float attn_scale = 0.0f;  // Q·K scale; 0: 1/sqrt(head_dim)
  // Sliding-window attention (<arch>.attention.sliding_window; 0: none): on local layers a query sees
  // only the n_swa most recent positions, itself included, with RoPE base rope_freq_base_swa.
  int64_t n_swa = 0;
  float rope_freq_base_swa = 10000.0f;
  Pooling pooling = Pooling::kNone;  // <arch>.pooling_type; embeddings default to last-token pooling

  // Whether layer il attends through the sliding window.
  bool is_swa_layer(int64_t il) const {
    return n_swa > 0 && traits.swa_pattern > 0 && (il + 1) % traits.swa_pattern != 0;
  }

  int64_t n_embd_q() const { return n_head * head_dim; }
  int64_t n_embd_kv() const { return n_head_kv * head_dim; }

  // Reads and validates every key; throws trit::Error naming the file and key for missing keys,
  // unknown architectures, non-positive sizes and inconsistent head counts.
  static HParams from_gguf(const gguf::Reader& reader);
};

}  // namespace trit::model
