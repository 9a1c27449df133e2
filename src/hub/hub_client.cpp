// HubClient: the listing (JSON, paged) and resumable, checksum-verified downloads of single files.
#include "hub/hub_client.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "hub/digest.h"
#include "hub/download_progress.h"
#include "runtime/error.h"

namespace trit::hub {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// `<url>; rel="next"` in a Link header.
std::string next_link(const HttpResponse& r) {
  const auto it = r.headers.find("link");
  if (it == r.headers.end()) return "";
  const std::string& link = it->second;
  size_t pos = 0;
  while ((pos = link.find('<', pos)) != std::string::npos) {
    const size_t end = link.find('>', pos);
    if (end == std::string::npos) break;
    const size_t next = link.find('<', end);
    const std::string params = link.substr(end + 1, next == std::string::npos ? std::string::npos : next - end - 1);
    if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
      return link.substr(pos + 1, end - pos - 1);
    pos = end;
  }
  return "";
}

// The hub's own words about an error: the X-Error-Message header, or {"error": "..."} in the body.
std::string hub_detail(const HttpResponse& r) {
  if (const auto it = r.headers.find("x-error-message"); it != r.headers.end() && !it->second.empty())
    return it->second;
  const auto body = nlohmann::json::parse(r.error_body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) return body["error"].get<std::string>();
  return "";
}

// Closes a FILE* on scope exit.
struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// Feeds the first n bytes of a file into the digest (a resumed .part).
void digest_file_prefix(const std::string& path, uint64_t n, Digest& d) {
  std::ifstream in(path, std::ios::binary);
  if (!in) trit::fail("{}: cannot read the partial download", path);
  std::vector<uint8_t> buf(size_t{1} << 20);
  while (n > 0) {
    const auto want = static_cast<std::streamsize>(std::min<uint64_t>(n, buf.size()));
    in.read(reinterpret_cast<char*>(buf.data()), want);
    if (in.gcount() != want) trit::fail("{}: the partial download shrank while it was read", path);
    d.update(std::span(buf.data(), static_cast<size_t>(want)));
    n -= static_cast<uint64_t>(want);
  }
}

}  // namespace

HubOptions hub_options_from_env() {
  HubOptions o;
  if (std::string e = env("HF_ENDPOINT"); !e.empty()) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    o.endpoint = e;
  }
  o.token = env("HF_TOKEN");
  if (o.token.empty()) o.token = env("HUGGING_FACE_HUB_TOKEN");
  if (o.token.empty()) {
    // huggingface_hub's stored token (`huggingface-cli login`): $HF_TOKEN_PATH, $HF_HOME/token,
    // ~/.cache/huggingface/token.
    std::string path = env("HF_TOKEN_PATH");
    if (path.empty() && !env("HF_HOME").empty()) path = env("HF_HOME") + "/token";
    if (path.empty() && !env("HOME").empty()) path = env("HOME") + "/.cache/huggingface/token";
    if (!path.empty()) {
      std::ifstream in(path);
      std::string token;
      if (in && std::getline(in, token)) o.token = trim(token);
    }
  }
  return o;
}

HubClient::HubClient(HubOptions options) : options_(std::move(options)), http_(options_.token) {}

std::string HubClient::resolve_url(const std::string& repo, const std::string& revision,
                                   const std::string& path) const {
  return fmt::format("{}/{}/resolve/{}/{}", options_.endpoint, repo, url_encode(revision, false),
                     url_encode(path, true));
}

std::string HubClient::tree_url(const std::string& repo, const std::string& revision) const {
  return fmt::format("{}/api/models/{}/tree/{}", options_.endpoint, repo, url_encode(revision, false));
}

void HubClient::fail_status(const HttpResponse& r, const std::string& repo, const std::string& revision,
                            const std::string* file) const {
  const std::string detail = hub_detail(r);
  const std::string said = detail.empty() ? "" : fmt::format(": \"{}\"", detail);
  const auto code_it = r.headers.find("x-error-code");
  const std::string code = code_it == r.headers.end() ? "" : code_it->second;
  const std::string what = file ? fmt::format("{}: file '{}'", repo, *file) : repo;
  switch (r.status) {
    case 401:
      trit::fail(
          "{}: HTTP 401 Unauthorized{}: the repository does not exist, or it is private or gated and needs an access "
          "token{}",
          what, said,
          options_.token.empty() ? ": set HF_TOKEN to one" : " (the token in HF_TOKEN was not accepted for it)");
    case 403:
      trit::fail(
          "{}: HTTP 403 Forbidden{}: for a gated model, accept its conditions at {}/{} with the account whose token is "
          "in HF_TOKEN",
          what, said, options_.endpoint, repo);
    case 404:
      if (code == "RevisionNotFound")
        trit::fail("{}: no revision '{}' (HTTP 404{}); check --revision", repo, revision, said);
      if (file && code != "RepoNotFound")
        trit::fail("{}: no file '{}' at revision '{}' (HTTP 404{})", repo, *file, revision, said);
      trit::fail("{}: repository not found at {} (HTTP 404{}); check the name (ORG/REPO) and --revision '{}'", repo,
                 options_.endpoint, said, revision);
    default:
      trit::fail("{}: HTTP {} from {}{}", what, r.status, url_host(options_.endpoint), said);
  }
}

std::vector<RepoFile> HubClient::list_files(const std::string& repo, const std::string& revision) {
  std::vector<RepoFile> files;
  std::string url = tree_url(repo, revision) + "?recursive=true";
  for (int page = 0; !url.empty(); ++page) {
    if (page > 10000) trit::fail("{}: the file listing did not end after {} pages", repo, page);
    std::string body;
    const HttpResponse r = http_.get(url, body);
    if (r.status >= 400) fail_status(r, repo, revision, nullptr);
    const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_array())
      trit::fail("{}: the hub's file listing ({}) is not a JSON array (HTTP {}): {}", repo, url, r.status,
                 body.substr(0, 200));
    for (const auto& e : json) {
      if (!e.is_object() || e.value("type", "") != "file") continue;
      if (!e.contains("path") || !e["path"].is_string() || !e.contains("size") || !e["size"].is_number_unsigned())
        trit::fail("{}: an entry of the hub's file listing has no path or size: {}", repo, e.dump());
      RepoFile f;
      f.path = e["path"].get<std::string>();
      f.size = e["size"].get<uint64_t>();
      f.git_oid = e.value("oid", "");
      if (e.contains("lfs") && e["lfs"].is_object()) {
        f.sha256 = e["lfs"].value("oid", "");
        if (e["lfs"].contains("size") && e["lfs"]["size"].is_number_unsigned())
          f.size = e["lfs"]["size"].get<uint64_t>();
      }
      files.push_back(std::move(f));
    }
    url = next_link(r);
  }
  return files;
}

bool HubClient::download(const std::string& repo, const std::string& revision, const RepoFile& file,
                         const std::string& dest) {
  const std::string part = dest + ".part";
  const bool lfs = !file.sha256.empty();
  const bool checked = lfs || !file.git_oid.empty();
  const std::string expected = lfs ? file.sha256 : file.git_oid;
  Digest digest(lfs ? Digest::Algorithm::kSha256 : Digest::Algorithm::kSha1);
  auto restart_digest = [&] {
    digest.reset();
    if (!lfs) digest.update(git_blob_header(file.size));
  };

  // A complete file from an earlier run stays.
  if (fs::exists(dest) && fs::is_regular_file(dest) && fs::file_size(dest) == file.size) {
    if (!checked) return false;
    restart_digest();
    digest_file_prefix(dest, file.size, digest);
    if (digest.hex() == expected) return false;
  }
  if (const auto parent = fs::path(dest).parent_path(); !parent.empty()) fs::create_directories(parent);

  uint64_t offset = 0;
  if (fs::exists(part)) {
    offset = fs::file_size(part);
    if (offset > file.size) {
      fs::remove(part);
      offset = 0;
    }
  }
  restart_digest();
  if (offset > 0) digest_file_prefix(part, offset, digest);

  if (offset < file.size || !fs::exists(part)) {
    File f(std::fopen(part.c_str(), offset > 0 ? "r+b" : "wb"));
    if (!f) trit::fail("{}: cannot open for writing: {}", part, std::strerror(errno));
    if (offset > 0 && std::fseek(f.get(), static_cast<long>(offset), SEEK_SET) != 0)
      trit::fail("{}: cannot seek to byte {}: {}", part, offset, std::strerror(errno));
    DownloadProgress progress(file.path, file.size, offset, !options_.show_progress);
    uint64_t written = offset;
    auto on_start = [&](const HttpResponse& r) {
      if (r.status == 206) {
        // Content-Range: bytes A-B/N; A must be where the .part ends.
        const auto it = r.headers.find("content-range");
        unsigned long long a = 0;
        if (it == r.headers.end() || std::sscanf(it->second.c_str(), "bytes %llu-", &a) != 1 || a != offset)
          trit::fail("{}: the server answered the request for bytes {}- of '{}' with Content-Range '{}'", repo, offset,
                     file.path, it == r.headers.end() ? "" : it->second);
      } else if (offset > 0) {
        // 200: the server ignored the Range and sends the whole file; start the .part again.
        f.reset(std::fopen(part.c_str(), "wb"));
        if (!f) trit::fail("{}: cannot open for writing: {}", part, std::strerror(errno));
        offset = written = 0;
        restart_digest();
        progress.restart(0);
      }
    };
    auto on_data = [&](std::span<const uint8_t> bytes) {
      if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
        trit::fail("{}: write failed: {}", part, std::strerror(errno));
      digest.update(bytes);
      written += bytes.size();
      progress.add(bytes.size());
    };
    TransferFailure failure;
    const HttpResponse r = http_.get_stream(resolve_url(repo, revision, file.path), offset, on_start, on_data, failure);
    if (std::fflush(f.get()) != 0) trit::fail("{}: write failed: {}", part, std::strerror(errno));
    f.reset();
    if (r.status == 416 && offset > 0) {
      // The .part does not match what the server has (e.g. the file changed): start over.
      fs::remove(part);
      return download(repo, revision, file, dest);
    }
    if (r.status >= 400) {
      if (fs::exists(part) && fs::file_size(part) == 0) fs::remove(part);
      fail_status(r, repo, revision, &file.path);
    }
    if (!failure.detail.empty())
      trit::fail("{}: download of '{}' interrupted after {} of {}: {}; run the command again to resume from {}", repo,
                 file.path, format_bytes(written), format_bytes(file.size), failure.detail, part);
    progress.finish();
  }

  const uint64_t got = fs::file_size(part);
  if (got != file.size) {
    if (got > file.size) fs::remove(part);
    trit::fail("{}: '{}' ended after {} bytes, but the hub lists {} bytes{}", repo, file.path, got, file.size,
               got < file.size ? fmt::format("; run the command again to resume from {}", part) : "");
  }
  if (checked) {
    const std::string actual = digest.hex();
    if (actual != expected) {
      fs::remove(part);
      trit::fail(
          "{}: '{}' failed its checksum: {} {}, but the hub lists {}; the download was deleted (run again to "
          "retry)",
          repo, file.path, lfs ? "sha256" : "git blob sha1", actual, expected);
    }
  }
  fs::rename(part, dest);
  return true;
}

}  // namespace trit::hub
