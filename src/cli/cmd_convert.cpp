// `trit convert`: a downloaded Hugging Face BitNet b1.58 model folder -> GGUF (docs/convert.md).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "convert/hf_convert.h"
#include "gguf/ggml_type.h"
#include "runtime/error.h"
#include "tensor/codec.h"

namespace trit::cli {
namespace {

struct ConvertFlags {
  std::string input;
  std::string output;
  std::string type = "i2_s";
  std::string embed_type = "f16";
  std::string arch;
  bool quiet = false;
};

uint32_t parse_type(const std::string& flag, const std::string& name, bool embed) {
  std::string known;
  for (uint32_t id = 0; id < 64; ++id) {
    if (!tensor::is_encodable(id)) continue;
    const bool allowed = embed ? (id == 0 || id == 1 || id == 8 || id == 30) : true;
    if (!allowed) continue;
    if (gguf::type_name(id) == name) return id;
    known += (known.empty() ? "" : ", ") + gguf::type_name(id);
  }
  trit::fail("{} '{}' is not a type trit can write here (known: {})", flag, name, known);
}

void convert(const ConvertFlags& f) {
  convert::ConvertOptions o;
  o.hf_dir = f.input;
  o.out_path = f.output;
  o.type_id = parse_type("--type", f.type, false);
  o.embed_type_id = parse_type("--embed-type", f.embed_type, true);
  o.arch_override = f.arch;
  o.show_progress = !f.quiet;
  const auto s = convert::convert_hf(o);
  if (!f.quiet)
    std::fprintf(stderr, "wrote %s: %s as %s (%s, %lld layers, %lld tensors, %.1f MiB)\n", f.output.c_str(),
                 s.model.hf_arch.c_str(), s.model.gguf_arch.c_str(), f.type.c_str(),
                 static_cast<long long>(s.model.n_layer), static_cast<long long>(s.n_tensors),
                 static_cast<double>(s.n_bytes) / (1024.0 * 1024.0));
}

}  // namespace

void register_convert(CLI::App& app) {
  auto flags = std::make_shared<ConvertFlags>();
  auto* cmd = app.add_subcommand("convert", "Convert a Hugging Face BitNet b1.58 model folder to GGUF");
  cmd->add_option("HF_DIR", flags->input, "The model folder (config.json, *.safetensors, tokenizer files)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--output", flags->output, "Output file (GGUF)")->required();
  cmd->add_option("--type", flags->type,
                  "BitLinear weight type: i2_s (bitnet.cpp), tq1_0, tq2_0, tl1, tl2, or f16/bf16/f32/q8_0")
      ->capture_default_str();
  cmd->add_option("--embed-type", flags->embed_type, "Embedding / output layer type: f16, bf16, q8_0, f32")
      ->capture_default_str();
  cmd->add_option("--arch", flags->arch,
                  "Hugging Face architecture to assume instead of config.json's (BitnetForCausalLM, "
                  "BitNetForCausalLM, LlamaForCausalLM)");
  cmd->add_flag("-q,--quiet", flags->quiet, "No progress bar");
  cmd->callback([flags] { convert(*flags); });
}

}  // namespace trit::cli
