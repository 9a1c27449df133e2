// trit chat: placeholder until the subcommand lands.
#include "cli/commands.h"

namespace trit::cli {

void register_chat(CLI::App& app) { app.add_subcommand("chat", "(not yet available)"); }

}  // namespace trit::cli
