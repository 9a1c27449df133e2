// `trit quantize IN.gguf OUT.gguf TYPE`: rewrite a model's ternary weights in another ternary type
// (exactly), and optionally its token embedding / output projection in another float type.
// `--repack` (no TYPE) writes the layout the kernels read in place, so later loads repack nothing.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "convert/requantize.h"
#include "gguf/ggml_type.h"
#include "runtime/error.h"

namespace trit::cli {
namespace {

struct QuantizeFlags {
  std::string input;
  std::string output;
  std::string type;
  std::string embed_type;
  std::string output_type;
  bool quiet = false;
  bool repack = false;
};

// The ternary type every kernel level reads in place: I2_S (its 128-weight blocks of four 2-bit planes
// are the I2 layout of kernels/i2_matrix.h). TL1, TL2, TQ1_0 and TQ2_0 are repacked into it at each load.
constexpr const char* kInPlaceType = "i2_s";

void quantize(const QuantizeFlags& f) {
  convert::RequantizeOptions o;
  o.input = f.input;
  o.output = f.output;
  if (f.repack && !f.type.empty() && f.type != kInPlaceType)
    trit::fail("--repack writes {}, the layout the kernels read in place, not TYPE '{}' (give one or the other)",
               kInPlaceType, f.type);
  if (!f.repack && f.type.empty()) trit::fail("TYPE is missing: i2_s, tq1_0 or tq2_0 (or --repack)");
  o.ternary_type = convert::parse_ternary_type(f.repack ? kInPlaceType : f.type, "TYPE");
  if (!f.embed_type.empty()) o.embed_type = convert::parse_float_type(f.embed_type, "--embed-type");
  if (!f.output_type.empty()) o.output_type = convert::parse_float_type(f.output_type, "--output-type");
  o.show_progress = !f.quiet;
  const auto s = convert::requantize(o);
  if (f.quiet) return;
  constexpr double kMiB = 1024.0 * 1024.0;
  std::fprintf(stderr,
               "wrote %s (%s): %d ternary tensors re-packed, %d ternary-valued float weights packed, %d float weights "
               "ternarised (absmean), %d converted, %d copied; %.1f MiB -> %.1f MiB\n",
               f.output.c_str(), gguf::type_name(o.ternary_type).c_str(), s.n_repacked, s.n_float_exact, s.n_ternarised,
               s.n_recoded, s.n_copied, static_cast<double>(s.n_bytes_in) / kMiB,
               static_cast<double>(s.n_bytes_out) / kMiB);
  if (s.output_type_unused)
    std::fprintf(stderr,
                 "note: --output-type had nothing to do: the model has no output.weight (its output is "
                 "tied to token_embd.weight; see --embed-type)\n");
  if (s.n_scale_rounded > 0)
    std::fprintf(stderr,
                 "note: %d per-tensor float32 scales were rounded to %s's f16 block scales (the ternary codes are "
                 "exact)\n",
                 s.n_scale_rounded, gguf::type_name(o.ternary_type).c_str());
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto flags = std::make_shared<QuantizeFlags>();
  auto* cmd = app.add_subcommand(
      "quantize", "Convert a GGUF model's ternary weights to another type (exactly: codes and scales carried over)");
  cmd->add_option("input", flags->input, "Input model (GGUF)")->required()->check(CLI::ExistingFile);
  cmd->add_option("output", flags->output, "Output model (GGUF)")->required();
  cmd->add_option("type", flags->type, "Type of the ternary linear weights: i2_s, tq1_0, tq2_0 (omit with --repack)");
  cmd->add_flag("--repack", flags->repack,
                "Write the ternary weights in the layout the kernels read in place (i2_s), so loads repack nothing "
                "and --mmap runs from the file's own pages");
  cmd->add_option("--embed-type", flags->embed_type, "Type of token_embd.weight: f16, bf16, q8_0, f32 (default: kept)");
  cmd->add_option("--output-type", flags->output_type,
                  "Type of output.weight (untied models): f16, bf16, q8_0, f32 (default: kept)");
  cmd->add_flag("-q,--quiet", flags->quiet, "No progress bar or summary");
  cmd->callback([flags] { quantize(*flags); });
}

}  // namespace trit::cli
