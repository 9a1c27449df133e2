// `trit pull`: which files of a hub repository to download, and where they go.
#pragma once

#include <string>
#include <vector>

#include "hub/hub_client.h"

namespace trit::hub {

struct PullSpec {
  std::string repo;  // "ORG/REPO" (or a legacy un-namespaced "REPO")
  std::string file;  // a path in the repository; "" to choose
};

// "ORG/REPO[:FILE]". Throws trit::Error for anything else.
PullSpec parse_pull_spec(const std::string& spec);

// The files to fetch:
//   FILE given:             that file (all parts of a split GGUF "x-00001-of-00003.gguf");
//   no FILE, GGUF files:    the only GGUF model (or the parts of the only split one); with several,
//                           trit::Error listing them with their sizes and how to pick one;
//   no FILE, no GGUF files: every file (a Hugging Face checkpoint for `trit convert`).
std::vector<RepoFile> choose_files(const std::vector<RepoFile>& files, const PullSpec& spec,
                                   const std::string& revision);

// dir / repo_path, refusing paths that would leave dir (absolute, "..", empty parts).
std::string local_path(const std::string& dir, const std::string& repo_path);

struct PullOptions {
  std::string spec;               // ORG/REPO[:FILE]
  std::string revision = "main";  // branch, tag or commit
  std::string out_dir;            // "": "." for GGUF files, "./REPO" for a whole repository
};

// Lists, chooses and downloads; returns the local paths of the chosen files.
std::vector<std::string> pull(const PullOptions& options, HubClient& client);

}  // namespace trit::hub
