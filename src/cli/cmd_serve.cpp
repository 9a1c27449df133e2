// `trit serve`: the HTTP server (llama-server's endpoints, the OpenAI API, a web chat page). SIGTERM or
// SIGINT stops accepting, lets running requests finish (up to --shutdown-timeout) and exits 0.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "cli/generation.h"
#include "model/model.h"
#include "runtime/error.h"
#include "server/http_server.h"
#include "server/scheduler.h"

namespace trit::cli {
namespace {

struct ServeFlags {
  ModelFlags model;
  server::ServerOptions http;
  int parallel = 1;
  int64_t queue = 64;
  int64_t batch = 512;
  double shutdown_timeout_s = 10;
};

void serve(ServeFlags f) {
  // Signals go to one thread that waits for them; every other thread (started below) blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not the end of the server

  auto model = model::Model::load(f.model.path, f.model.load_options());
  const model::ContextOptions ctx = f.model.context_options();
  server::Scheduler scheduler(f.model.make_backend(*model), {.n_slots = f.parallel,
                                       .n_ctx = ctx.n_ctx,
                                       .n_threads = ctx.n_threads,
                                       .kv_type = ctx.kv_type,
                                       .max_queue = f.queue,
                                       .n_batch = f.batch});
  f.http.model_path = f.model.path;
  if (f.http.model_name.empty()) f.http.model_name = std::filesystem::path(f.model.path).stem().string();
  server::HttpServer http(scheduler, f.http);
  const int port = http.bind();
  std::thread serving([&] { http.serve(); });
  std::fprintf(stderr, "trit: listening on http://%s:%d\n", f.http.host.c_str(), port);
  if (!f.model.quiet)
    std::fprintf(stderr, "trit: %d slot(s) of %lld tokens; web chat at http://%s:%d/%s\n", f.parallel,
                 static_cast<long long>(scheduler.n_ctx()), f.http.host.c_str(), port,
                 f.http.api_key.empty() ? "" : " (API key required)");

  int sig = 0;
  sigwait(&signals, &sig);
  if (!f.model.quiet)
    std::fprintf(stderr, "trit: %s: finishing running requests\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  const auto grace = std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_timeout_s * 1000));
  scheduler.drain(grace);  // then what still runs is cancelled, and its response ends
  http.wait_idle(std::chrono::seconds(5));
  http.stop();
  serving.join();
  if (!f.model.quiet) std::fprintf(stderr, "trit: stopped\n");
}

}  // namespace

void register_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve",
      "HTTP server: llama-server's /completion, the OpenAI API (/v1/chat/completions, /v1/embeddings, "
      "/v1/completions, /v1/models) and a web chat page at /");
  auto f = std::make_shared<ServeFlags>();
  f->model.add_to(*cmd);
  cmd->add_option("--host", f->http.host, "Address to listen on (127.0.0.1: this machine only)")->capture_default_str();
  cmd->add_option("--port", f->http.port, "Port (0: any free port; the chosen one is printed)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--parallel", f->parallel,
                  "Slots: requests generated at once, batched together (-c is per slot; -np works too)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--queue-size", f->queue, "Requests waiting for a slot before new ones get 503")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  cmd->add_option("-b,--batch-size", f->batch, "Prompt tokens per slot per step")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{3}, int64_t{1} << 16));
  cmd->add_option("--api-key", f->http.api_key, "Require 'Authorization: Bearer KEY' (all but /health and the page)");
  cmd->add_option("--cors-origin", f->http.cors_origin,
                  "Allow browser requests from this origin ('*': any); off by default");
  cmd->add_option("--max-body", f->http.max_body_bytes, "Largest request body in bytes")->capture_default_str();
  cmd->add_option("--max-tokens", f->http.max_tokens, "Most tokens any request may generate (-1: up to the context)")
      ->capture_default_str();
  cmd->add_option("--alias", f->http.model_name, "Model name in the API (default: the file name)");
  cmd->add_option("--shutdown-timeout", f->shutdown_timeout_s, "Seconds to let running requests finish on SIGTERM")
      ->capture_default_str();
  cmd->callback([f] { serve(*f); });
}

}  // namespace trit::cli
