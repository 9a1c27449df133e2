// `trit run`: generate text from a prompt, streamed to stdout; speed on stderr.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/generation.h"
#include "model/model.h"
#include "runtime/error.h"

namespace trit::cli {
namespace {

struct RunFlags {
  ModelFlags model;
  SamplingFlags sampling;
  std::string prompt;
  std::string prompt_file;
  bool no_display_prompt = false;
  bool verbose_prompt = false;
  bool show_ids = false;
};

void run(const RunFlags& f) {
  std::string prompt = f.prompt;
  if (!f.prompt_file.empty()) {
    std::ifstream in(f.prompt_file, std::ios::binary);
    if (!in) trit::fail("{}: cannot read the prompt file", f.prompt_file);
    std::stringstream ss;
    ss << in.rdbuf();
    prompt = ss.str();
  }
  const auto params = f.sampling.resolved();
  auto model = model::Model::load(f.model.path, f.model.load_options());
  model::Context ctx(f.model.make_backend(*model), f.model.context_options());
  const auto& tok = model->tokenizer();
  std::vector<int32_t> tokens = tokenizer::encode_prompt(tok, prompt);
  if (tokens.empty()) trit::fail("the prompt is empty and the model adds no BOS token: nothing to start from");
  if (static_cast<int64_t>(tokens.size()) >= ctx.n_ctx())
    trit::fail("the prompt is {} tokens, more than the context size {} allows (use -c to raise it)", tokens.size(),
               ctx.n_ctx());
  if (f.verbose_prompt) {
    std::string line;
    for (int32_t id : tokens) line += fmt::format(" {}", id);
    std::fprintf(stderr, "prompt tokens:%s\n", line.c_str());
  }
  if (!f.no_display_prompt) {
    std::fputs(prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  sampling::Sampler sampler(params);
  std::vector<int32_t> history;
  const auto stats = generate(ctx, tokens, f.sampling, sampler, history, [](const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
  std::fputs("\n", stdout);
  std::fflush(stdout);
  if (f.show_ids) {
    std::string line;
    for (size_t i = tokens.size(); i < history.size(); ++i) line += fmt::format(" {}", history[i]);
    std::fprintf(stderr, "generated tokens:%s\n", line.c_str());
  }
  if (!f.model.quiet) std::fprintf(stderr, "\n%s\n", format_stats(stats).c_str());
}

}  // namespace

void register_run(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt");
  flags->model.add_to(*cmd);
  flags->sampling.add_to(*cmd);
  auto* p = cmd->add_option("-p,--prompt", flags->prompt, "Prompt text");
  auto* pf = cmd->add_option("-f,--file", flags->prompt_file, "Read the prompt from a file");
  p->excludes(pf);
  cmd->add_flag("--no-display-prompt", flags->no_display_prompt, "Print only the generated text");
  cmd->add_flag("--verbose-prompt", flags->verbose_prompt, "Print the prompt's token ids on stderr");
  cmd->add_flag("--show-ids", flags->show_ids, "Print the generated token ids on stderr at the end");
  cmd->callback([flags] { run(*flags); });
}

}  // namespace trit::cli
