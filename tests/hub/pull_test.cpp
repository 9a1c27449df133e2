// `trit pull` against a fake hub on loopback (cpp-httplib, in-process) serving the hub's URL layout:
// downloads, checksums, resuming, the choice of files, and the messages for 401/404/offline.
#include "hub/pull.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hub/digest.h"
#include "hub/hub_client.h"
#include "runtime/error.h"

namespace trit::hub {
namespace {

namespace fs = std::filesystem;

std::string bytes_of(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::string sha256_of(const std::string& s) {
  return sha256_hex(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

std::string git_oid_of(const std::string& s) {
  Digest d(Digest::Algorithm::kSha1);
  d.update(git_blob_header(s.size()));
  d.update(s);
  return d.hex();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

// The hub's two endpoints for the files added to it.
class FakeHub {
 public:
  struct File {
    std::string content;
    bool lfs = true;
    std::string listed_sha256;  // what the listing claims (the real one unless a test lies)
  };

  FakeHub() {
    server_.Get(R"(/api/models/([^/]+/[^/]+)/tree/([^/]+))", [this](const httplib::Request& req,
                                                                    httplib::Response& res) {
      if (!authorised(req, res)) return;
      std::lock_guard lock(mutex_);
      const auto it = repos_.find(req.matches[1].str());
      if (it == repos_.end() || req.matches[2].str() != "main") {
        res.status = 404;
        res.set_header("X-Error-Code", it == repos_.end() ? "RepoNotFound" : "RevisionNotFound");
        res.set_content(R"({"error":"Repository not found"})", "application/json");
        return;
      }
      nlohmann::json all = nlohmann::json::array();
      for (const auto& [path, f] : it->second) {
        if (const auto slash = path.rfind('/'); slash != std::string::npos)
          all.push_back({{"type", "directory"}, {"path", path.substr(0, slash)}, {"oid", "0"}, {"size", 0}});
        nlohmann::json e = {{"type", "file"}, {"path", path}, {"size", f.content.size()}};
        if (f.lfs) {
          e["oid"] = "0123456789012345678901234567890123456789";
          e["lfs"] = {{"oid", f.listed_sha256}, {"size", f.content.size()}, {"pointerSize", 134}};
        } else {
          e["oid"] = git_oid_of(f.content);
        }
        all.push_back(e);
      }
      // Pages of page_size entries, linked like the hub's (Link: <...cursor=N>; rel="next").
      size_t start = req.has_param("cursor") ? std::stoul(req.get_param_value("cursor")) : 0;
      nlohmann::json page = nlohmann::json::array();
      for (size_t i = start; i < all.size() && i < start + page_size; ++i) page.push_back(all[i]);
      if (start + page_size < all.size())
        res.set_header("Link", "<" + endpoint() + req.path +
                                   "?recursive=true&cursor=" + std::to_string(start + page_size) + ">; rel=\"next\"");
      res.set_content(page.dump(), "application/json");
    });
    server_.Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorised(req, res)) return;
      std::lock_guard lock(mutex_);
      ranges_seen.push_back(req.get_header_value("Range"));
      const auto repo = repos_.find(req.matches[1].str());
      const File* file = nullptr;
      if (repo != repos_.end())
        if (const auto it = repo->second.find(req.matches[3].str()); it != repo->second.end()) file = &it->second;
      if (!file) {
        res.status = 404;
        res.set_header("X-Error-Code", repo == repos_.end() ? "RepoNotFound" : "EntryNotFound");
        res.set_content("Entry not found", "text/plain");
        return;
      }
      const std::string& content = file->content;
      size_t from = 0;
      const bool has_range = std::sscanf(req.get_header_value("Range").c_str(), "bytes=%zu-", &from) == 1;
      if (honour_range) {
        if (has_range && from >= content.size()) {
          res.status = 416;
          return;
        }
        // cpp-httplib answers a Range request itself (206, Content-Range, the slice of the body).
        res.set_content(content, "application/octet-stream");
        return;
      }
      // A server without range support: the whole body, chunked, which cpp-httplib does not slice;
      // with cut_after set, the connection drops after that many bytes.
      res.status = 200;
      const size_t cut = cut_after;
      res.set_chunked_content_provider("application/octet-stream",
                                       [content, cut](size_t offset, httplib::DataSink& sink) {
                                         const size_t end = std::min(content.size(), cut);
                                         if (offset < end) {
                                           sink.write(content.data() + offset, end - offset);
                                           return true;
                                         }
                                         if (end < content.size()) return false;  // drop the connection
                                         sink.done();
                                         return true;
                                       });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ~FakeHub() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  void add(const std::string& repo, const std::string& path, const std::string& content, bool lfs = true) {
    std::lock_guard lock(mutex_);
    repos_[repo][path] = {content, lfs, sha256_of(content)};
  }
  void lie_about_sha256(const std::string& repo, const std::string& path) {
    std::lock_guard lock(mutex_);
    repos_[repo][path].listed_sha256 = sha256_of("something else");
  }

  std::atomic<bool> honour_range = true;
  std::atomic<size_t> cut_after = SIZE_MAX;  // with honour_range false: bytes sent before the connection drops
  std::atomic<size_t> page_size = 1000;
  std::string required_token;  // when set, requests without "Bearer <it>" get 401
  std::vector<std::string> ranges_seen;
  std::vector<std::string> authorizations_seen;

 private:
  bool authorised(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    authorizations_seen.push_back(req.get_header_value("Authorization"));
    if (required_token.empty() || req.get_header_value("Authorization") == "Bearer " + required_token) return true;
    res.status = 401;
    res.set_header("X-Error-Message", "Invalid credentials in Authorization header");
    res.set_content(R"({"error":"Invalid credentials in Authorization header"})", "application/json");
    return false;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::map<std::string, std::map<std::string, File>> repos_;
};

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("trit_pull_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  HubClient client(const std::string& token = "") const {
    HubOptions o;
    o.endpoint = hub_.endpoint();
    o.token = token;
    o.show_progress = false;
    return HubClient(o);
  }

  std::vector<std::string> run_pull(const std::string& spec, const std::string& token = "") {
    PullOptions o;
    o.spec = spec;
    o.out_dir = dir_.string();
    HubClient c = client(token);
    return pull(o, c);
  }

  std::string error_of(const std::string& spec, const std::string& token = "") {
    try {
      run_pull(spec, token);
    } catch (const trit::Error& e) {
      return e.what();
    }
    return "(no error)";
  }

  FakeHub hub_;
  fs::path dir_;
};

TEST(Digest, MatchesKnownVectors) {
  EXPECT_EQ(sha256_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(git_oid_of("hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");  // git hash-object
}

TEST_F(PullTest, DownloadsTheOnlyGgufAndChecksIt) {
  const std::string model = bytes_of(300000, 1);
  hub_.add("org/model-gguf", "ggml-model-i2_s.gguf", model);
  hub_.add("org/model-gguf", "README.md", "# a model\n", /*lfs=*/false);
  const auto paths = run_pull("org/model-gguf");
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(paths[0], (dir_ / "ggml-model-i2_s.gguf").string());
  EXPECT_EQ(read_file(paths[0]), model);
  EXPECT_FALSE(fs::exists(paths[0] + ".part"));
  EXPECT_EQ(hub_.ranges_seen, std::vector<std::string>{""});

  // Again: the complete file is kept, nothing is fetched.
  run_pull("org/model-gguf");
  EXPECT_EQ(hub_.ranges_seen.size(), 1u);
}

TEST_F(PullTest, WholeRepositoryWithoutGgufKeepsItsTreeAndChecksGitBlobs) {
  const std::string weights = bytes_of(100000, 2);
  hub_.add("org/hf-model", "model.safetensors", weights);
  hub_.add("org/hf-model", "config.json", R"({"architectures": ["BitNetForCausalLM"]})", /*lfs=*/false);
  hub_.add("org/hf-model", "tokenizer/tokenizer.json", "{}", /*lfs=*/false);
  hub_.page_size = 2;  // the listing comes in pages
  const auto paths = run_pull("org/hf-model");
  EXPECT_EQ(paths.size(), 3u);
  EXPECT_EQ(read_file(dir_ / "model.safetensors"), weights);
  EXPECT_EQ(read_file(dir_ / "tokenizer" / "tokenizer.json"), "{}");
  EXPECT_EQ(read_file(dir_ / "config.json"), R"({"architectures": ["BitNetForCausalLM"]})");
}

TEST_F(PullTest, Sha256MismatchDeletesTheDownloadAndLeavesNoFile) {
  hub_.add("org/m", "model.gguf", bytes_of(50000, 3));
  hub_.lie_about_sha256("org/m", "model.gguf");
  const std::string e = error_of("org/m:model.gguf");
  EXPECT_NE(e.find("org/m: 'model.gguf' failed its checksum: sha256 "), std::string::npos) << e;
  EXPECT_NE(e.find("the download was deleted"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir_ / "model.gguf"));
  EXPECT_FALSE(fs::exists(dir_ / "model.gguf.part"));
}

TEST_F(PullTest, ResumesFromAPartWithARangeRequest) {
  const std::string model = bytes_of(200000, 4);
  hub_.add("org/m", "model.gguf", model);
  write_file(dir_ / "model.gguf.part", model.substr(0, 70000));
  run_pull("org/m:model.gguf");
  EXPECT_EQ(hub_.ranges_seen, std::vector<std::string>{"bytes=70000-"});
  EXPECT_EQ(read_file(dir_ / "model.gguf"), model);
  EXPECT_FALSE(fs::exists(dir_ / "model.gguf.part"));
}

TEST_F(PullTest, ServerIgnoringRangeRestartsThePart) {
  const std::string model = bytes_of(200000, 5);
  hub_.add("org/m", "model.gguf", model);
  hub_.honour_range = false;
  write_file(dir_ / "model.gguf.part", std::string(70000, 'x'));  // would fail the checksum if kept
  run_pull("org/m:model.gguf");
  EXPECT_EQ(hub_.ranges_seen, std::vector<std::string>{"bytes=70000-"});
  EXPECT_EQ(read_file(dir_ / "model.gguf"), model);
}

TEST_F(PullTest, InterruptedDownloadKeepsThePartAndTheNextRunResumes) {
  const std::string model = bytes_of(300000, 12);
  hub_.add("org/m", "model.gguf", model);
  hub_.honour_range = false;
  hub_.cut_after = 100000;
  const std::string e = error_of("org/m:model.gguf");
  EXPECT_NE(e.find("org/m: download of 'model.gguf' interrupted after"), std::string::npos) << e;
  EXPECT_NE(e.find("run the command again to resume from"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir_ / "model.gguf"));
  ASSERT_TRUE(fs::exists(dir_ / "model.gguf.part"));
  const auto kept = fs::file_size(dir_ / "model.gguf.part");
  EXPECT_GT(kept, 0u);
  EXPECT_LE(kept, 100000u);

  hub_.honour_range = true;
  hub_.ranges_seen.clear();
  run_pull("org/m:model.gguf");
  EXPECT_EQ(hub_.ranges_seen, std::vector<std::string>{"bytes=" + std::to_string(kept) + "-"});
  EXPECT_EQ(read_file(dir_ / "model.gguf"), model);
}

TEST_F(PullTest, CompletePartIsCheckedWithoutDownloading) {
  const std::string model = bytes_of(1000, 6);
  hub_.add("org/m", "model.gguf", model);
  write_file(dir_ / "model.gguf.part", model);
  run_pull("org/m:model.gguf");
  EXPECT_TRUE(hub_.ranges_seen.empty());
  EXPECT_EQ(read_file(dir_ / "model.gguf"), model);
}

TEST_F(PullTest, NotFoundMessagesNameTheRepositoryAndFile) {
  hub_.add("org/m", "model.gguf", "gguf");
  hub_.add("org/m", "README.md", "hi", false);
  EXPECT_EQ(error_of("org/nope"), "org/nope: repository not found at " + hub_.endpoint() +
                                      " (HTTP 404: \"Repository not found\"); check the name (ORG/REPO) and "
                                      "--revision 'main'");
  EXPECT_EQ(error_of("org/m:other.gguf"),
            "org/m: no file 'other.gguf' at revision 'main' (its files: model.gguf, README.md)");
  // A file the listing has but the server does not (a stale listing): the resolve URL's 404.
  HubClient c = client();
  RepoFile ghost{"ghost.gguf", 10, "", ""};
  try {
    c.download("org/m", "main", ghost, (dir_ / "ghost.gguf").string());
    FAIL() << "no error";
  } catch (const trit::Error& e) {
    EXPECT_STREQ(e.what(), "org/m: no file 'ghost.gguf' at revision 'main' (HTTP 404)");
  }
  EXPECT_FALSE(fs::exists(dir_ / "ghost.gguf.part"));
}

TEST_F(PullTest, UnauthorisedSaysToSetHfTokenAndTheTokenIsSent) {
  hub_.add("org/private", "model.gguf", "gguf bytes");
  hub_.required_token = "hf_secret";
  const std::string e = error_of("org/private");
  EXPECT_NE(e.find("org/private: HTTP 401 Unauthorized: \"Invalid credentials in Authorization header\""),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("set HF_TOKEN"), std::string::npos) << e;
  EXPECT_NE(error_of("org/private", "hf_wrong").find("the token in HF_TOKEN was not accepted"), std::string::npos);
  EXPECT_EQ(run_pull("org/private", "hf_secret").size(), 1u);
  EXPECT_EQ(hub_.authorizations_seen.back(), "Bearer hf_secret");
  EXPECT_EQ(read_file(dir_ / "model.gguf"), "gguf bytes");
}

TEST_F(PullTest, UnreachableEndpointGivesTheOfflineMessage) {
  int closed_port = 0;
  {
    FakeHub gone;  // a port that was just free, and is closed again
    closed_port = gone.port();
  }
  HubOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(closed_port);
  o.show_progress = false;
  HubClient c(o);
  PullOptions p;
  p.spec = "org/m";
  p.out_dir = dir_.string();
  try {
    pull(p, c);
    FAIL() << "no error";
  } catch (const trit::Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("cannot reach 127.0.0.1:" + std::to_string(closed_port) + ": ", 0), 0u) << m;
    EXPECT_NE(m.find("(offline? set HF_ENDPOINT for a mirror)"), std::string::npos) << m;
  }
}

TEST_F(PullTest, SeveralGgufModelsAskForOneAndSplitModelsComeWhole) {
  hub_.add("org/many", "model-i2_s.gguf", bytes_of(2048, 7));
  hub_.add("org/many", "model-tq2_0.gguf", bytes_of(4096, 8));
  hub_.add("org/many", "big-00001-of-00002.gguf", bytes_of(100, 9));
  hub_.add("org/many", "big-00002-of-00002.gguf", bytes_of(200, 10));
  const std::string e = error_of("org/many");
  EXPECT_EQ(e,
            "org/many holds 3 GGUF models; choose one with `trit pull ORG/REPO:FILE`:\n"
            "  org/many:big-00001-of-00002.gguf  (300 B, 2 parts)\n"
            "  org/many:model-i2_s.gguf  (2.0 KiB)\n"
            "  org/many:model-tq2_0.gguf  (4.0 KiB)");
  const auto paths = run_pull("org/many:big-00001-of-00002.gguf");
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(read_file(dir_ / "big-00002-of-00002.gguf"), bytes_of(200, 10));
}

TEST(PullSpec, ParsesAndRefuses) {
  const PullSpec a = parse_pull_spec("microsoft/bitnet-b1.58-2B-4T-gguf:ggml-model-i2_s.gguf");
  EXPECT_EQ(a.repo, "microsoft/bitnet-b1.58-2B-4T-gguf");
  EXPECT_EQ(a.file, "ggml-model-i2_s.gguf");
  EXPECT_EQ(parse_pull_spec("org/repo").file, "");
  for (const char* bad : {"", "org/", "/repo", "org/re po", "a/b/c", "org/repo:"})
    EXPECT_THROW(parse_pull_spec(bad), trit::Error) << bad;
  EXPECT_THROW(local_path("out", "../escape"), trit::Error);
  EXPECT_THROW(local_path("out", "/etc/passwd"), trit::Error);
  EXPECT_EQ(local_path("out", "a/b.json"), "out/a/b.json");
}

TEST(HubOptions, EndpointAndTokenComeFromTheEnvironment) {
  ::setenv("HF_ENDPOINT", "http://mirror.example/", 1);
  ::setenv("HF_TOKEN", "hf_abc", 1);
  const HubOptions o = hub_options_from_env();
  ::unsetenv("HF_ENDPOINT");
  ::unsetenv("HF_TOKEN");
  EXPECT_EQ(o.endpoint, "http://mirror.example");
  EXPECT_EQ(o.token, "hf_abc");
  HubClient c(o);
  EXPECT_EQ(c.resolve_url("org/m", "refs/pr/1", "dir/a b.gguf"),
            "http://mirror.example/org/m/resolve/refs%2Fpr%2F1/dir/a%20b.gguf");
  EXPECT_EQ(c.tree_url("org/m", "main"), "http://mirror.example/api/models/org/m/tree/main");
}

// The real binary against the fake hub: stdout is the path, stderr the progress.
TEST_F(PullTest, BinaryPullsThroughHfEndpoint) {
  const std::string model = bytes_of(120000, 11);
  hub_.add("org/e2e", "ggml-model-i2_s.gguf", model);
  const fs::path out = dir_ / "stdout.txt";
  const std::string cmd = "HF_ENDPOINT=" + hub_.endpoint() + " HF_TOKEN= " + std::string(TRIT_BINARY) +
                          " pull org/e2e -o " + dir_.string() + " >" + out.string() + " 2>" +
                          (dir_ / "stderr.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(dir_ / "stderr.txt");
  EXPECT_EQ(read_file(out), (dir_ / "ggml-model-i2_s.gguf").string() + "\n");
  EXPECT_EQ(read_file(dir_ / "ggml-model-i2_s.gguf"), model);

  const std::string list =
      "HF_ENDPOINT=" + hub_.endpoint() + " " + std::string(TRIT_BINARY) + " pull org/e2e --list >" + out.string();
  ASSERT_EQ(std::system(list.c_str()), 0);
  EXPECT_EQ(read_file(out), "   117.2 KiB  ggml-model-i2_s.gguf\n");

  const std::string offline = "HF_ENDPOINT=http://127.0.0.1:1 " + std::string(TRIT_BINARY) + " pull org/e2e -o " +
                              dir_.string() + " 2>" + (dir_ / "stderr.txt").string();
  EXPECT_NE(std::system(offline.c_str()), 0);
  EXPECT_NE(read_file(dir_ / "stderr.txt").find("trit: error: cannot reach 127.0.0.1:1: "), std::string::npos)
      << read_file(dir_ / "stderr.txt");
}

}  // namespace
}  // namespace trit::hub
