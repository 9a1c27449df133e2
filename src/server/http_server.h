// The HTTP front: llama-server's endpoints, the OpenAI API and the web chat page over cpp-httplib,
// with API-key checks, CORS, body limits and OpenAI-shaped errors. Generation goes to the Scheduler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "server/scheduler.h"

namespace httplib {
class Server;
}

namespace trit::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;          // 0: any free port
  std::string api_key;      // empty: no key needed
  std::string cors_origin;  // empty: no CORS headers; "*" or an origin
  size_t max_body_bytes = 8u << 20;
  int64_t max_tokens = -1;  // cap on any request's tokens to generate (-1: the context)
  int http_threads = 0;     // 0: enough for every slot and queued request
  std::string model_name;   // shown in /v1/models and responses
  std::string model_path;
  std::chrono::milliseconds read_timeout{30000};
};

class HttpServer {
 public:
  HttpServer(Scheduler& scheduler, ServerOptions options);
  ~HttpServer();

  // Binds the socket; returns the port (the chosen one for port 0). Throws trit::Error when it cannot.
  int bind();
  // Serves until stop(); returns false if serving failed.
  bool serve();
  // Waits up to `timeout` until no response is being generated or streamed (after Scheduler::drain,
  // so that streams write their last events before stop()). Returns whether all ended.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Stops accepting connections and ends serve(); a stream still being written is cut.
  void stop();

 private:
  void install_routes();

  Scheduler& scheduler_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);  // generation responses
};

}  // namespace trit::server
