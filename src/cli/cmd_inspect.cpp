// trit inspect: placeholder until the subcommand lands.
#include "cli/commands.h"

namespace trit::cli {

void register_inspect(CLI::App& app) { app.add_subcommand("inspect", "(not yet available)"); }

}  // namespace trit::cli
