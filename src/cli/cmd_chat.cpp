// `trit chat`: an interactive conversation on stdin/stdout, in the model's chat format.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/generation.h"
#include "model/model.h"
#include "runtime/error.h"
#include "tokenizer/chat_template.h"

namespace trit::cli {
namespace {

struct ChatFlags {
  ModelFlags model;
  SamplingFlags sampling;
  std::string system;
  std::string format;
};

void chat(ChatFlags f) {
  const auto params = f.sampling.resolved();
  auto model = model::Model::load(f.model.path, f.model.load_options());
  model::Context ctx(f.model.make_backend(*model), f.model.context_options());
  const auto& tok = model->tokenizer();

  const tokenizer::ChatFormat format =
      f.format.empty() ? tokenizer::chat_format_for(tok.vocab().chat_template) : tokenizer::parse_chat_format(f.format);
  const bool interactive = isatty(STDIN_FILENO);
  if (!f.model.quiet)
    std::fprintf(stderr, "chat format: %s. Type a message; an empty line or Ctrl-D ends.\n",
                 std::string(tokenizer::chat_format_name(format)).c_str());

  std::vector<tokenizer::ChatMessage> messages;
  if (!f.system.empty()) messages.push_back({"system", f.system});
  std::vector<int32_t> cached;  // tokens in the KV cache, in order
  sampling::Sampler sampler(params);
  std::string line;
  for (;;) {
    if (interactive) std::fputs("> ", stderr);
    if (!std::getline(std::cin, line) || line.empty() || line == "/exit") break;
    messages.push_back({"user", line});
    const std::string prompt = tokenizer::render_chat(format, messages, true, "");
    std::vector<int32_t> tokens = tokenizer::encode_prompt(tok, prompt);
    // Reuse the cached prefix; evaluate only what is new.
    size_t common = 0;
    while (common < cached.size() && common < tokens.size() && cached[common] == tokens[common]) ++common;
    if (common == tokens.size()) --common;  // something must be evaluated to get logits
    ctx.truncate(static_cast<int64_t>(common));
    cached.resize(common);
    std::vector<int32_t> fresh(tokens.begin() + static_cast<std::ptrdiff_t>(common), tokens.end());
    if (ctx.n_past() + static_cast<int64_t>(fresh.size()) >= ctx.n_ctx())
      trit::fail("the conversation no longer fits the context of {} tokens (use -c to raise it)", ctx.n_ctx());
    std::string reply;
    const auto stats = generate(ctx, fresh, f.sampling, sampler, cached, [&](const std::string& text) {
      reply += text;
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    });
    std::fputs("\n", stdout);
    std::fflush(stdout);
    // The cache holds every generated token except possibly the last (sampled, not evaluated).
    cached.resize(static_cast<size_t>(ctx.n_past()));
    messages.push_back({"assistant", reply});
    if (!f.model.quiet) std::fprintf(stderr, "[%s]\n", format_stats(stats).c_str());
  }
}

}  // namespace

void register_chat(CLI::App& app) {
  auto flags = std::make_shared<ChatFlags>();
  auto* cmd = app.add_subcommand("chat", "Chat with a model interactively");
  flags->model.add_to(*cmd);
  flags->sampling.add_to(*cmd);
  cmd->add_option("--system", flags->system, "System message");
  cmd->add_option("--chat-template", flags->format,
                  "Chat format: bitnet, llama3, llama2, chatml, falcon3 (default: from the model, else bitnet)");
  cmd->callback([flags] { chat(*flags); });
}

}  // namespace trit::cli
