// config.json -> HfModel: the architecture table and the size checks.
#include "convert/hf_arch.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace trit::convert {
namespace {

using Json = nlohmann::json;

struct HfArch {
  const char* hf_name;
  const char* gguf_arch;
  const char* what;           // for messages
  const char* attn_sub_norm;  // HF name of the norm before o_proj, or nullptr
  const char* ffn_sub_norm;   // HF name of the norm before down_proj, or nullptr
  bool permute_qk;            // ggml NORM RoPE pairing needs Q/K rows reordered
  bool needs_bitnet_quant;    // float weights are only ternary-trained when config says quant_method bitnet
  const char* default_act;
};

// 1bitLLM's BitnetForCausalLM is written as llama.cpp / bitnet.cpp do ("bitnet", the only BitNet
// architecture bitnet.cpp's llama.cpp loads); Microsoft's 2B-4T as bitnet.cpp's newer converter does.
constexpr HfArch kArchs[] = {
    {"BitnetForCausalLM", "bitnet", "1bitLLM bitnet_b1_58-large / -3B", "self_attn.inner_attn_ln.weight",
     "mlp.ffn_layernorm.weight", false, false, "silu"},
    {"BitNetForCausalLM", "bitnet-b1.58", "microsoft/bitnet-b1.58-2B-4T (packed or -bf16)",
     "self_attn.attn_sub_norm.weight", "mlp.ffn_sub_norm.weight", false, false, "relu2"},
    {"LlamaForCausalLM", "llama", "Llama3-8B-1.58-100B-tokens, Falcon3-*-1.58bit", nullptr, nullptr, true, true,
     "silu"},
};

const HfArch* find_hf_arch(const std::string& name) {
  for (const auto& a : kArchs)
    if (name == a.hf_name) return &a;
  return nullptr;
}

}  // namespace

std::string known_hf_archs() {
  std::string out;
  for (const auto& a : kArchs) out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", a.hf_name, a.what);
  return out;
}

std::vector<LayerTensor> HfModel::layer_tensors() const {
  const HfArch* a = find_hf_arch(hf_arch);
  const int64_t q = n_head * head_dim, kv = n_head_kv * head_dim;
  std::vector<LayerTensor> t;
  t.push_back({"input_layernorm.weight", "attn_norm.weight", false, 1, n_embd, false});
  t.push_back({"self_attn.q_proj.weight", "attn_q.weight", true, q, n_embd, a->permute_qk, n_head});
  t.push_back({"self_attn.k_proj.weight", "attn_k.weight", true, kv, n_embd, a->permute_qk, n_head_kv});
  t.push_back({"self_attn.v_proj.weight", "attn_v.weight", true, kv, n_embd, false});
  t.push_back({"self_attn.o_proj.weight", "attn_output.weight", true, n_embd, q, false});
  if (a->attn_sub_norm) t.push_back({a->attn_sub_norm, "attn_sub_norm.weight", false, 1, q, false});
  t.push_back({"post_attention_layernorm.weight", "ffn_norm.weight", false, 1, n_embd, false});
  t.push_back({"mlp.gate_proj.weight", "ffn_gate.weight", true, n_ff, n_embd, false});
  t.push_back({"mlp.up_proj.weight", "ffn_up.weight", true, n_ff, n_embd, false});
  t.push_back({"mlp.down_proj.weight", "ffn_down.weight", true, n_embd, n_ff, false});
  if (a->ffn_sub_norm) t.push_back({a->ffn_sub_norm, "ffn_sub_norm.weight", false, 1, n_ff, false});
  return t;
}

HfModel read_hf_model(const std::filesystem::path& dir, const std::string& q_proj_dtype,
                      const std::string& arch_override) {
  const auto path = (dir / "config.json").string();
  std::ifstream in(path);
  if (!in) fail("{}: cannot read the file (is {} a Hugging Face model folder?)", path, dir.string());
  Json c;
  try {
    c = Json::parse(in);
  } catch (const Json::exception& e) {
    fail("{}: not valid JSON: {}", path, e.what());
  }
  if (!c.is_object()) fail("{}: not a JSON object", path);

  HfModel m;
  if (!arch_override.empty()) {
    m.hf_arch = arch_override;
  } else {
    if (!c.contains("architectures") || !c["architectures"].is_array() || c["architectures"].empty() ||
        !c["architectures"][0].is_string())
      fail("{}: no \"architectures\" list (pass --arch to name one: {})", path, known_hf_archs());
    m.hf_arch = c["architectures"][0].get<std::string>();
  }
  const HfArch* a = find_hf_arch(m.hf_arch);
  if (!a) fail("{}: architecture '{}' is not supported (trit converts: {})", path, m.hf_arch, known_hf_archs());
  m.gguf_arch = a->gguf_arch;

  auto get_int = [&](const char* key, std::optional<int64_t> fallback = std::nullopt) -> int64_t {
    auto it = c.find(key);
    if (it == c.end() || it->is_null()) {
      if (fallback) return *fallback;
      fail("{}: missing \"{}\"", path, key);
    }
    if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (int64_t{1} << 31))
      fail("{}: \"{}\" is {}, expected a positive integer", path, key, it->dump());
    return it->get<int64_t>();
  };
  auto get_float = [&](const char* key, double fallback) -> double {
    auto it = c.find(key);
    if (it == c.end() || it->is_null()) return fallback;
    if (!it->is_number()) fail("{}: \"{}\" is {}, expected a number", path, key, it->dump());
    return it->get<double>();
  };

  m.n_vocab = get_int("vocab_size");
  m.n_embd = get_int("hidden_size");
  m.n_ff = get_int("intermediate_size");
  m.n_layer = get_int("num_hidden_layers");
  m.n_head = get_int("num_attention_heads");
  m.n_head_kv = get_int("num_key_value_heads", m.n_head);
  m.n_ctx = get_int("max_position_embeddings", 2048);
  if (c.contains("head_dim") && !c["head_dim"].is_null()) {
    m.head_dim = get_int("head_dim");
  } else {
    if (m.n_embd % m.n_head != 0)
      fail("{}: hidden_size {} is not a multiple of num_attention_heads {}", path, m.n_embd, m.n_head);
    m.head_dim = m.n_embd / m.n_head;
  }
  if (m.n_head % m.n_head_kv != 0)
    fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", path, m.n_head, m.n_head_kv);
  if (m.head_dim % 2 != 0) fail("{}: the head size {} is odd; RoPE needs it even", path, m.head_dim);
  m.rope_theta = get_float("rope_theta", 10000.0);
  m.rms_eps = get_float("rms_norm_eps", 1e-5);
  if (!(m.rope_theta > 1.0)) fail("{}: rope_theta is {}, expected > 1", path, m.rope_theta);
  if (!(m.rms_eps > 0.0 && m.rms_eps < 1.0))
    fail("{}: rms_norm_eps is {}, expected a small positive number", path, m.rms_eps);

  if (auto it = c.find("rope_scaling"); it != c.end() && !it->is_null()) {
    if (!it->is_object()) fail("{}: rope_scaling is {}, expected an object or null", path, it->dump());
    std::string type = it->value("rope_type", it->value("type", std::string("default")));
    if (type == "linear") {
      const double f = it->value("factor", 0.0);
      if (!(f > 0.0)) fail("{}: rope_scaling.factor is {}, expected > 0", path, f);
      if (f != 1.0) m.rope_linear_factor = f;
    } else if (type != "default") {
      fail("{}: rope_scaling type '{}' is not supported (trit converts linear scaling only)", path, type);
    }
  }

  bool tie_default = m.gguf_arch != "llama";
  m.tied = c.value("tie_word_embeddings", tie_default);

  // Name: _name_or_path, else the folder.
  m.name = c.value("_name_or_path", std::string());
  if (m.name.empty()) m.name = dir.filename().string();
  if (m.name.empty()) m.name = dir.parent_path().filename().string();

  // Weight encoding: packed uint8 tensors carry a weight_scale; transformers' AutoBitLinear
  // multiplies by it, BitLinear (the default linear_class) divides by it.
  std::string quant_method, linear_class = "bitlinear", mode;
  if (auto it = c.find("quantization_config"); it != c.end() && it->is_object()) {
    quant_method = it->value("quant_method", std::string());
    linear_class = it->value("linear_class", std::string("bitlinear"));
    mode = it->value("quantization_mode", std::string("offline"));
  }
  if (!quant_method.empty() && quant_method != "bitnet")
    fail("{}: quantization_config.quant_method is '{}'; trit converts BitNet b1.58 checkpoints (\"bitnet\" or none)",
         path, quant_method);
  if (q_proj_dtype == "U8" || q_proj_dtype == "I8") {
    if (linear_class == "autobitlinear")
      m.encoding = LinearEncoding::kPackedMultiply;
    else if (linear_class == "bitlinear")
      m.encoding = LinearEncoding::kPackedDivide;
    else
      fail("{}: quantization_config.linear_class '{}' is not known (bitlinear, autobitlinear)", path, linear_class);
  } else if (q_proj_dtype == "F32" || q_proj_dtype == "F16" || q_proj_dtype == "BF16") {
    if (a->needs_bitnet_quant && quant_method != "bitnet")
      fail(
          "{}: a {} checkpoint with float weights and no quantization_config {{\"quant_method\": \"bitnet\"}} is an "
          "ordinary model, not a BitNet b1.58 one; ternarising it would destroy it",
          path, m.hf_arch);
    m.encoding = LinearEncoding::kFloat;
  } else {
    fail("{}: model.layers.0.self_attn.q_proj.weight has dtype '{}'; trit reads F32, F16, BF16 or packed U8", path,
         q_proj_dtype);
  }
  m.hidden_act = a->default_act;
  if (auto it = c.find("hidden_act"); it != c.end() && it->is_string()) {
    const std::string act = it->get<std::string>();
    // 1bitLLM's config says "relu" while its graph (in llama.cpp and bitnet.cpp) uses SiLU: keep the
    // architecture's activation there.
    if (m.gguf_arch != "bitnet") {
      if (act != "silu" && act != "relu2") fail("{}: hidden_act '{}' is not supported (silu, relu2)", path, act);
      m.hidden_act = act;
    }
  }
  return m;
}

}  // namespace trit::convert
