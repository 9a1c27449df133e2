// pull: the spec, the choice of files and the download loop.
#include "hub/pull.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "hub/download_progress.h"
#include "runtime/error.h"

namespace trit::hub {

namespace fs = std::filesystem;

namespace {

bool valid_name_part(const std::string& s) {
  // huggingface_hub's repo id rule: letters, digits, '-', '_', '.'; no leading/trailing '-' or '.', no "--" or "..".
  if (s.empty() || s.size() > 96) return false;
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  if (s.front() == '-' || s.front() == '.' || s.back() == '-' || s.back() == '.') return false;
  return s.find("--") == std::string::npos && s.find("..") == std::string::npos;
}

bool is_gguf(const std::string& path) {
  if (path.size() < 5) return false;
  std::string ext = path.substr(path.size() - 5);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".gguf";
}

// "model-00001-of-00003.gguf" -> "model" + "of-00003" (the split's identity); "" for an unsplit file.
std::string split_group(const std::string& path) {
  // The tail "-NNNNN-of-NNNNN.gguf" is 20 characters.
  constexpr size_t kTail = 20;
  if (!is_gguf(path) || path.size() <= kTail) return "";
  const std::string tail = path.substr(path.size() - kTail);
  auto digits = [&](size_t at) {
    for (size_t i = at; i < at + 5; ++i)
      if (!std::isdigit(static_cast<unsigned char>(tail[i]))) return false;
    return true;
  };
  std::string of = tail.substr(6, 4);
  std::transform(of.begin(), of.end(), of.begin(), [](unsigned char c) { return std::tolower(c); });
  if (tail[0] != '-' || !digits(1) || of != "-of-" || !digits(10)) return "";
  return path.substr(0, path.size() - kTail) + "|" + tail.substr(10, 5);
}

// The model a GGUF file belongs to: its split group, or itself.
std::string model_key(const std::string& path) {
  const std::string g = split_group(path);
  return g.empty() ? path : g;
}

std::vector<RepoFile> files_of_model(const std::vector<RepoFile>& files, const std::string& key) {
  std::vector<RepoFile> out;
  for (const auto& f : files)
    if (is_gguf(f.path) && model_key(f.path) == key) out.push_back(f);
  std::sort(out.begin(), out.end(), [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
  return out;
}

uint64_t total_size(const std::vector<RepoFile>& files) {
  uint64_t n = 0;
  for (const auto& f : files) n += f.size;
  return n;
}

}  // namespace

PullSpec parse_pull_spec(const std::string& spec) {
  PullSpec s;
  const size_t colon = spec.find(':');
  s.repo = spec.substr(0, colon);
  if (colon != std::string::npos) {
    s.file = spec.substr(colon + 1);
    if (s.file.empty())
      trit::fail("'{}': nothing after ':' (write ORG/REPO:FILE, or ORG/REPO for the whole repository)", spec);
  }
  const size_t slash = s.repo.find('/');
  const bool ok = slash == std::string::npos
                      ? valid_name_part(s.repo)
                      : valid_name_part(s.repo.substr(0, slash)) && valid_name_part(s.repo.substr(slash + 1));
  if (!ok)
    trit::fail(
        "'{}' is not a Hugging Face repository: expected ORG/REPO[:FILE], e.g. "
        "microsoft/bitnet-b1.58-2B-4T-gguf:ggml-model-i2_s.gguf",
        spec);
  return s;
}

std::vector<RepoFile> choose_files(const std::vector<RepoFile>& files, const PullSpec& spec,
                                   const std::string& revision) {
  if (!spec.file.empty()) {
    const auto it = std::find_if(files.begin(), files.end(), [&](const RepoFile& f) { return f.path == spec.file; });
    if (it == files.end()) {
      std::vector<std::string> names;
      for (const auto& f : files) names.push_back(f.path);
      std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
        return is_gguf(a) != is_gguf(b) ? is_gguf(a) : a < b;  // GGUF files first
      });
      if (names.size() > 12) {
        names.resize(12);
        names.push_back("...");
      }
      trit::fail("{}: no file '{}' at revision '{}' (its files: {})", spec.repo, spec.file, revision,
                 names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
    }
    if (!split_group(it->path).empty()) return files_of_model(files, model_key(it->path));
    return {*it};
  }
  std::vector<std::string> models;  // distinct GGUF models
  for (const auto& f : files)
    if (is_gguf(f.path) && std::find(models.begin(), models.end(), model_key(f.path)) == models.end())
      models.push_back(model_key(f.path));
  if (models.empty()) {
    if (files.empty()) trit::fail("{}: the repository has no files at revision '{}'", spec.repo, revision);
    return files;
  }
  if (models.size() == 1) return files_of_model(files, models[0]);
  std::string list;
  for (const auto& key : models) {
    const auto parts = files_of_model(files, key);
    list += fmt::format("\n  {}:{}  ({}{})", spec.repo, parts[0].path, format_bytes(total_size(parts)),
                        parts.size() > 1 ? fmt::format(", {} parts", parts.size()) : "");
  }
  trit::fail("{} holds {} GGUF models; choose one with `trit pull ORG/REPO:FILE`:{}", spec.repo, models.size(), list);
}

std::string local_path(const std::string& dir, const std::string& repo_path) {
  const fs::path p(repo_path);
  bool ok = !repo_path.empty() && p.is_relative() && repo_path.front() != '/';
  for (const auto& part : p)
    if (part == ".." || part == "." || part.empty()) ok = false;
  if (!ok) trit::fail("the hub listed a file path '{}' that would be written outside {}", repo_path, dir);
  return (fs::path(dir) / p).string();
}

std::vector<std::string> pull(const PullOptions& o, HubClient& client) {
  const PullSpec spec = parse_pull_spec(o.spec);
  const auto files = client.list_files(spec.repo, o.revision);
  const auto chosen = choose_files(files, spec, o.revision);
  const bool whole_repo = spec.file.empty() &&
                          std::none_of(chosen.begin(), chosen.end(), [](const RepoFile& f) { return is_gguf(f.path); });
  std::string dir = o.out_dir;
  if (dir.empty()) dir = whole_repo ? spec.repo.substr(spec.repo.find('/') + 1) : ".";
  const bool quiet = !client.options().show_progress;
  if (!quiet)
    std::fprintf(stderr, "%s: %zu file%s, %s, from %s (revision %s) to %s\n", spec.repo.c_str(), chosen.size(),
                 chosen.size() == 1 ? "" : "s", format_bytes(total_size(chosen)).c_str(),
                 url_host(client.options().endpoint).c_str(), o.revision.c_str(), dir.c_str());
  std::vector<std::string> paths;
  for (const auto& f : chosen) {
    const std::string dest = local_path(dir, f.path);
    const bool fetched = client.download(spec.repo, o.revision, f, dest);
    if (!fetched && !quiet) std::fprintf(stderr, "%s: already downloaded\n", dest.c_str());
    paths.push_back(dest);
  }
  return paths;
}

}  // namespace trit::hub
