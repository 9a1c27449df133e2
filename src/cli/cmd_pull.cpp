// `trit pull ORG/REPO[:FILE]`: download a GGUF model (or a whole Hugging Face checkpoint) from the hub,
// resumably and checksum-verified. Prints the local paths on stdout.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "hub/download_progress.h"
#include "hub/hub_client.h"
#include "hub/pull.h"

namespace trit::cli {
namespace {

struct PullFlags {
  hub::PullOptions options;
  bool list = false;
  bool quiet = false;
};

void pull(const PullFlags& f) {
  hub::HubOptions o = hub::hub_options_from_env();
  o.show_progress = !f.quiet;
  hub::HubClient client(o);
  if (f.list) {
    const hub::PullSpec spec = hub::parse_pull_spec(f.options.spec);
    for (const auto& file : client.list_files(spec.repo, f.options.revision))
      std::printf("%12s  %s\n", hub::format_bytes(file.size).c_str(), file.path.c_str());
    return;
  }
  for (const auto& path : hub::pull(f.options, client)) std::printf("%s\n", path.c_str());
}

}  // namespace

void register_pull(CLI::App& app) {
  auto flags = std::make_shared<PullFlags>();
  auto* cmd = app.add_subcommand(
      "pull",
      "Download a model from the Hugging Face hub (HF_ENDPOINT: another endpoint or mirror; HF_TOKEN: access token)");
  cmd->add_option("repo", flags->options.spec,
                  "ORG/REPO[:FILE]; without FILE: the repository's GGUF model, or all its files when it has none")
      ->required();
  cmd->add_option("-o,--output-dir", flags->options.out_dir,
                  "Directory to write to (default: . for GGUF files, ./REPO for a whole repository)");
  cmd->add_option("--revision", flags->options.revision, "Branch, tag or commit")->capture_default_str();
  cmd->add_flag("--list", flags->list, "List the repository's files with their sizes and exit");
  cmd->add_flag("-q,--quiet", flags->quiet, "No progress bars");
  cmd->callback([flags] { pull(*flags); });
}

}  // namespace trit::cli
