// trit run: placeholder until the subcommand lands.
#include "cli/commands.h"

namespace trit::cli {

void register_run(CLI::App& app) { app.add_subcommand("run", "(not yet available)"); }

}  // namespace trit::cli
