// The Hugging Face hub's HTTP layout, as huggingface_hub uses it:
//   files:   GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true  (JSON, paged by Link: rel="next")
//   a file:  GET {endpoint}/{repo}/resolve/{revision}/{path}                  (redirects to the storage)
// with HF_ENDPOINT replacing https://huggingface.co and HF_TOKEN sent as a bearer token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/http.h"

namespace trit::hub {

inline constexpr char kDefaultEndpoint[] = "https://huggingface.co";

struct HubOptions {
  std::string endpoint = kDefaultEndpoint;  // no trailing slash
  std::string token;                        // "" for anonymous access
  bool show_progress = true;
};

// HF_ENDPOINT and HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN) from the environment.
HubOptions hub_options_from_env();

struct RepoFile {
  std::string path;     // in the repository, '/'-separated
  uint64_t size = 0;    // bytes
  std::string sha256;   // LFS files: lfs.oid, the SHA-256 of the content; "" otherwise
  std::string git_oid;  // the git blob id (SHA-1 of "blob <size>\0" + content)
};

class HubClient {
 public:
  explicit HubClient(HubOptions options);

  const HubOptions& options() const { return options_; }

  // Every file of the repository at `revision` (directories left out). Throws trit::Error naming the
  // repository for 401/403/404 and other failures, and the offline message when the hub cannot be reached.
  std::vector<RepoFile> list_files(const std::string& repo, const std::string& revision);

  // Downloads one file to `dest`, through `dest`.part: resumed with a Range request when a .part is
  // there (a server answering 200 instead of 206 restarts it), checked against the file's SHA-256 (or
  // git blob id), then renamed into place. A complete `dest` of the right size and digest is kept.
  // Returns false when nothing had to be downloaded. On a digest mismatch the .part is deleted and
  // trit::Error thrown; an interrupted transfer keeps the .part for the next run.
  bool download(const std::string& repo, const std::string& revision, const RepoFile& file, const std::string& dest);

  std::string resolve_url(const std::string& repo, const std::string& revision, const std::string& path) const;
  std::string tree_url(const std::string& repo, const std::string& revision) const;

 private:
  // trit::Error for a >= 400 response, naming what was asked for.
  [[noreturn]] void fail_status(const HttpResponse& r, const std::string& repo, const std::string& revision,
                                const std::string* file) const;

  HubOptions options_;
  Http http_;
};

}  // namespace trit::hub
