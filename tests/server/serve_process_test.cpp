// `trit serve` as a real process: it announces its port, answers, and on SIGTERM finishes the request
// in flight, refuses new work and exits 0; a port already taken is a clear error.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/test_data.h"

extern char** environ;

namespace {

using nlohmann::json;

struct ServeProcess {
  pid_t pid = -1;
  int port = -1;
  FILE* err = nullptr;
  std::string first_line;

  explicit ServeProcess(std::vector<std::string> args) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    args.insert(args.begin(), TRIT_BINARY);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid, TRIT_BINARY, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    err = fdopen(fds[0], "r");
    char line[512];
    if (fgets(line, sizeof line, err)) first_line = line;
    const auto at = first_line.rfind(':');
    if (first_line.rfind("trit: listening on http://", 0) == 0 && at != std::string::npos)
      port = std::stoi(first_line.substr(at + 1));
  }
  // Waits for the process to end; its exit status, or -1 if a signal ended it.
  int wait_exit() {
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string rest_of_stderr() {
    std::string out;
    char buf[512];
    while (fgets(buf, sizeof buf, err)) out += buf;
    return out;
  }
  ~ServeProcess() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (err) fclose(err);
  }
};

std::string tiny_model() {
  static const std::string path = [] {
    const auto p = (trit::testing::make_temp_dir("trit-serve") / "tiny.gguf").string();
    const std::string cmd = std::string(TRIT_BINARY) + " gen-dummy --shape tiny -q -o " + p;
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return p;
  }();
  return path;
}

TEST(ServeProcess, AnswersThenDrainsOnSigtermAndExitsZero) {
  // A generous grace period: under the sanitizers the reply below takes seconds.
  ServeProcess p(
      {"serve", "-m", tiny_model(), "--port", "0", "-q", "-c", "4096", "-np", "2", "--shutdown-timeout", "120"});
  ASSERT_GT(p.port, 0) << p.first_line;
  httplib::Client c("127.0.0.1", p.port);
  c.set_read_timeout(60, 0);
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // A long streamed request is in flight when SIGTERM arrives: it still ends normally.
  std::string streamed;
  std::thread client([&] {
    httplib::Client sc("127.0.0.1", p.port);
    sc.set_read_timeout(60, 0);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = json{{"prompt", "long"}, {"max_tokens", 1500}, {"stream", true}, {"ignore_eos", true}}.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
      streamed.append(d, n);
      return true;
    };
    sc.send(req);
  });
  for (int i = 0; i < 500 && streamed.empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  kill(p.pid, SIGTERM);
  client.join();
  EXPECT_EQ(p.wait_exit(), 0);
  EXPECT_NE(streamed.find("\"finish_reason\":\"length\""), std::string::npos);
  EXPECT_NE(streamed.find("data: [DONE]"), std::string::npos);
  EXPECT_FALSE(httplib::Client("127.0.0.1", p.port).Get("/health"));  // no longer listening
}

TEST(ServeProcess, PortInUseIsAClearError) {
  ServeProcess first({"serve", "-m", tiny_model(), "--port", "0", "-q"});
  ASSERT_GT(first.port, 0);
  ServeProcess second({"serve", "-m", tiny_model(), "--port", std::to_string(first.port), "-q"});
  EXPECT_EQ(second.wait_exit(), 1);
  EXPECT_NE(
      (second.first_line + second.rest_of_stderr()).find("cannot listen on 127.0.0.1:" + std::to_string(first.port)),
      std::string::npos)
      << second.first_line;
  kill(first.pid, SIGTERM);
  EXPECT_EQ(first.wait_exit(), 0);
}

}  // namespace
