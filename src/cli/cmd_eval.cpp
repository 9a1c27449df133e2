// `trit eval`: the logits of every position of a token sequence, written as raw float32, for comparing
// trit's devices with each other and with other engines (tests/cuda/hf_oracle.py does). The tokens go
// through as one prompt batch, or one at a time with --decode (the decode path, graphs on a GPU).
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/generation.h"
#include "model/model.h"
#include "runtime/error.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace trit::cli {
namespace {

struct EvalFlags {
  ModelFlags model;
  std::string tokens;
  std::string prompt;
  std::string output;
  bool decode = false;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    int32_t id = 0;
    const char* first = text.data() + begin;
    const char* last = text.data() + end;
    const auto [ptr, ec] = std::from_chars(first, last, id);
    if (ec != std::errc() || ptr != last || first == last)
      trit::fail("--tokens: '{}' is not a token id (expected comma-separated integers)", std::string(first, last));
    ids.push_back(id);
    begin = end + 1;
  }
  return ids;
}

void eval(const EvalFlags& f) {
  if (f.tokens.empty() == f.prompt.empty()) trit::fail("give exactly one of --tokens and -p/--prompt");
  auto model = model::Model::load(f.model.path, f.model.load_options());
  const std::vector<int32_t> ids =
      f.tokens.empty() ? tokenizer::encode_prompt(model->tokenizer(), f.prompt) : parse_ids(f.tokens);
  if (ids.empty()) trit::fail("no tokens to evaluate");
  model::Context ctx(f.model.make_backend(*model), f.model.context_options());
  const int64_t n_vocab = model->hparams().n_vocab;
  std::vector<float> logits;
  logits.reserve(ids.size() * static_cast<size_t>(n_vocab));
  if (f.decode) {
    for (int32_t id : ids) {
      const auto row = ctx.eval(std::span<const int32_t>(&id, 1));
      logits.insert(logits.end(), row.begin(), row.end());
    }
  } else {
    const auto all = ctx.eval(ids, /*all_logits=*/true);
    logits.assign(all.begin(), all.end());
  }
  std::ofstream out(f.output, std::ios::binary);
  if (!out) trit::fail("cannot write '{}'", f.output);
  out.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size() * sizeof(float)));
  if (!out) trit::fail("writing '{}' failed", f.output);
  // The greedy next token after each position, for a quick look.
  std::string line;
  for (size_t t = 0; t < ids.size(); ++t) {
    const std::span<const float> row(logits.data() + t * static_cast<size_t>(n_vocab), static_cast<size_t>(n_vocab));
    line += fmt::format("{}{}", t ? " " : "", sampling::argmax(row));
  }
  std::printf("%s\n", line.c_str());
  if (!f.model.quiet)
    std::fprintf(stderr, "trit eval: %zu positions x %lld logits on %s -> %s\n", ids.size(),
                 static_cast<long long>(n_vocab), ctx.backend().device_name().c_str(), f.output.c_str());
}

}  // namespace

void register_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eval", "Logits of every position of a token sequence, as raw float32 [n_tokens][n_vocab] (for comparisons)");
  auto f = std::make_shared<EvalFlags>();
  f->model.add_to(*cmd);
  cmd->add_option("--tokens", f->tokens, "Token ids, comma-separated");
  cmd->add_option("-p,--prompt", f->prompt, "Text, tokenized with the model's tokenizer (BOS added as it says)");
  cmd->add_option("-o,--output", f->output, "Where to write the logits")->required();
  cmd->add_flag("--decode", f->decode, "Feed the tokens one at a time (the decode path) instead of as one batch");
  cmd->callback([f] { eval(*f); });
}

}  // namespace trit::cli
