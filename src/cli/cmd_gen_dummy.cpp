// trit gen-dummy: placeholder until the subcommand lands.
#include "cli/commands.h"

namespace trit::cli {

void register_gen_dummy(CLI::App& app) { app.add_subcommand("gen-dummy", "(not yet available)"); }

}  // namespace trit::cli
