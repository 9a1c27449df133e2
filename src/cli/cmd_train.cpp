// `trit train`: quantisation-aware training of a small BitNet b1.58 model from scratch on a text file,
// exported as a GGUF that `trit run` and `trit serve` load (docs/training.md, docs/default-model.md).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "gguf/ggml_type.h"
#include "runtime/error.h"
#include "tokenizer/tokenizer.h"
#include "train/train_loop.h"

namespace trit::cli {
namespace {

struct TrainFlags {
  train::TrainOptions o;
  std::string text;
  std::string tokenizer;
  std::string type = "i2_s";
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) trit::fail("{}: cannot read the file", path);
  return {std::istreambuf_iterator<char>(in), {}};
}

void run_train(TrainFlags& f) {
  if (f.text.empty()) trit::fail("train needs -f/--file TEXT");
  if (f.tokenizer.empty()) trit::fail("train needs --tokenizer tokenizer.json (make one with `trit train-tokenizer`)");
  if (f.o.output.empty() && f.o.checkpoint.empty())
    trit::fail("train needs -o/--output FILE.gguf or --checkpoint FILE");
  if (f.type == "i2_s")
    f.o.type_id = static_cast<uint32_t>(gguf::GgmlType::I2_S);
  else if (f.type == "tq2_0")
    f.o.type_id = static_cast<uint32_t>(gguf::GgmlType::TQ2_0);
  else if (f.type == "tq1_0")
    f.o.type_id = static_cast<uint32_t>(gguf::GgmlType::TQ1_0);
  else
    trit::fail("--type '{}': trained models are written as i2_s, tq2_0 or tq1_0", f.type);

  auto log = [](const std::string& line) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  };
  tokenizer::Vocab vocab = tokenizer::Vocab::from_tokenizer_json(read_file(f.tokenizer));
  const auto tok = tokenizer::Tokenizer::create(vocab);
  const std::string text = read_file(f.text);
  const std::vector<int32_t> tokens = tok->encode(text, /*add_special=*/false, /*parse_special=*/false);
  log(fmt::format("{}: {} bytes -> {} tokens ({:.2f} bytes per token) with {} ({} tokens)", f.text, text.size(),
                  tokens.size(),
                  static_cast<double>(text.size()) / static_cast<double>(std::max<size_t>(1, tokens.size())),
                  f.tokenizer, vocab.n_tokens()));
  f.o.config.n_vocab = vocab.n_tokens();
  const train::TrainResult r = train::train(f.o, tokens, vocab, log);
  log(fmt::format("done: {} steps in {:.1f} min, {:.0f} tok/s, final train loss {:.4f}, val loss {:.4f} (ppl {:.2f})",
                  r.steps_done, r.seconds / 60.0, r.tokens_per_second, r.train_loss, r.val_loss, std::exp(r.val_loss)));
}

}  // namespace

void register_train(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  train::TrainOptions& o = f->o;
  auto* cmd = app.add_subcommand("train", "Train a small BitNet b1.58 model from scratch on a text file (CPU)");
  cmd->add_option("-f,--file", f->text, "Training text (UTF-8)")->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", f->tokenizer, "tokenizer.json (byte-level BPE, e.g. from `trit train-tokenizer`)")
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", o.output, "Write the trained model here (GGUF)");
  cmd->add_option("--type", f->type, "Weight type of the export: i2_s, tq2_0, tq1_0")->capture_default_str();
  cmd->add_option("--name", o.name, "general.name of the export")->capture_default_str();
  cmd->add_option("--dim", o.config.n_embd, "Embedding size (multiple of 128)")->capture_default_str();
  cmd->add_option("--layers", o.config.n_layer, "Transformer blocks")->capture_default_str();
  cmd->add_option("--heads", o.config.n_head, "Attention heads")->capture_default_str();
  cmd->add_option("--kv-heads", o.config.n_head_kv, "Key/value heads (grouped-query attention)")->capture_default_str();
  cmd->add_option("--ffn", o.config.n_ff, "Feed-forward size (multiple of 128)")->capture_default_str();
  cmd->add_option("--ctx", o.config.n_ctx, "Context length (tokens per training sequence)")->capture_default_str();
  cmd->add_option("--rope-base", o.config.rope_base, "RoPE frequency base")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Sequences per step")->capture_default_str();
  cmd->add_option("--steps", o.steps, "Optimizer steps (the learning-rate schedule's length)")->capture_default_str();
  cmd->add_option("--lr", o.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr-ratio", o.min_lr_ratio, "Cosine floor as a fraction of --lr")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Linear warm-up steps")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "AdamW decoupled weight decay (linear weights only)")
      ->capture_default_str();
  cmd->add_option("--grad-clip", o.grad_clip, "Global gradient-norm clip (0: none)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed (initial weights and batches)")->capture_default_str();
  cmd->add_option("-t,--threads", o.n_threads, "Threads (0: one per physical core)")->capture_default_str();
  cmd->add_option("--val-fraction", o.val_fraction, "Tail of the tokens held out for validation")
      ->capture_default_str();
  cmd->add_option("--eval-every", o.eval_every, "Validate and checkpoint every N steps (0: only at the end)")
      ->capture_default_str();
  cmd->add_option("--val-windows", o.val_windows, "Held-out windows per validation (0: all)")->capture_default_str();
  cmd->add_option("--log-every", o.log_every, "Progress line every N steps")->capture_default_str();
  cmd->add_option("--max-minutes", o.max_minutes, "Stop cleanly after this many minutes, then export (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--stop-at", o.stop_at,
                  "Stop cleanly before this step, keeping the --steps schedule (0: run to the end)")
      ->capture_default_str();
  cmd->add_option("--checkpoint", o.checkpoint, "Checkpoint file (written every --eval-every steps and at the end)");
  cmd->add_flag("--resume", o.resume, "Continue from --checkpoint");
  cmd->callback([f] { run_train(*f); });
}

}  // namespace trit::cli
