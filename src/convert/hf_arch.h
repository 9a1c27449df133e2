// The Hugging Face architectures `trit convert` knows: what config.json says (validated), which GGUF
// architecture each becomes, and the HF -> GGUF tensor names of one transformer block.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace trit::convert {

// How a checkpoint stores its BitLinear weights.
enum class LinearEncoding {
  kFloat,           // float master weights (F32/F16/BF16): absmean ternarisation at conversion
  kPackedDivide,    // uint8, 4 ternary values per byte, W = t / weight_scale (transformers BitLinear)
  kPackedMultiply,  // uint8 the same way, W = t * weight_scale (transformers AutoBitLinear, offline mode)
};

// One per-layer tensor: "model.layers.{i}." + hf -> "blk.{i}." + gguf.
struct LayerTensor {
  std::string hf;    // e.g. "self_attn.q_proj.weight"
  std::string gguf;  // e.g. "attn_q.weight"
  bool linear;       // a BitLinear weight (ternary); otherwise a norm vector (F32)
  int64_t rows;      // out features (1 for norms)
  int64_t cols;      // in features (the vector length for norms)
  bool permute_qk;   // q/k rows reordered for ggml's NORM RoPE pairing (llama)
  int64_t permute_heads = 0;
  bool add_one = false;  // Gemma's (1 + w) RMSNorm gain, stored as w + 1 (as bitnet.cpp's converter does)
};

struct HfModel {
  std::string hf_arch;    // config.json architectures[0]
  std::string gguf_arch;  // bitnet, bitnet-b1.58, llama
  std::string name;       // general.name
  int64_t n_vocab = 0, n_embd = 0, n_ff = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ctx = 0;
  double rope_theta = 10000.0;
  double rms_eps = 1e-5;
  std::optional<double> rope_linear_factor;  // rope_scaling {"type": "linear", "factor": f}
  std::string hidden_act;                    // silu, relu2 ...
  bool tied = true;                          // no lm_head.weight: the output layer is the embedding
  LinearEncoding encoding = LinearEncoding::kFloat;
  // BitNet embedding models (bitnet-embedding-0.6b: qwen3, -270m: gemma3): a BitLinear RMSNorm before
  // every projection (<proj>.norm.weight), per-head Q/K norms, no output layer; see docs/embeddings.md.
  bool embedding = false;
  int64_t pooling = 3;                          // llama.cpp's pooling_type: 1 mean, 2 cls, 3 last
  std::optional<int64_t> sliding_window;        // Gemma 3: every layer but each 6th
  double rope_local_base = 10000.0;             // Gemma 3's RoPE base on sliding-window layers
  std::optional<double> query_pre_attn_scalar;  // Gemma 3: attention scaled by 1/sqrt(this)

  // The per-layer tensors in GGUF order (llama.cpp's), with their expected shapes.
  std::vector<LayerTensor> layer_tensors() const;
};

// The architectures, for messages: "BitnetForCausalLM (1bitLLM), BitNetForCausalLM (2B-4T), LlamaForCausalLM ...".
std::string known_hf_archs();

// Whether a config.json architecture (or model_type, for the embedding models) is a BitNet embedding
// architecture: the checkpoint must then hold the per-projection norms.
bool is_embedding_arch(const std::string& gguf_arch);

// Reads config.json of the folder (and, to tell packed from float weights, the dtype of the first
// layer's q_proj as `q_proj_dtype`). arch_override replaces architectures[0]. Throws trit::Error
// naming config.json and the key for unknown architectures, missing or inconsistent sizes.
HfModel read_hf_model(const std::filesystem::path& dir, const std::string& q_proj_dtype,
                      const std::string& arch_override = "");

}  // namespace trit::convert
