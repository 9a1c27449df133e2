// Routes. Every handler either answers JSON or streams server-sent events; every failure becomes an
// OpenAI-shaped error with the right status, and none can take the process down.
#include "server/http_server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <random>
#include <thread>

#include "model/embedding.h"
#include "runtime/cpu_features.h"
#include "runtime/error.h"
#include "server/api_error.h"
#include "server/embeddings_api.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/response.h"
#include "server/web_assets.h"
#include "tokenizer/chat_template.h"

namespace trit::server {
namespace {

using nlohmann::json;

json error_body(int status, const std::string& type, const std::string& message) {
  return {{"error", {{"code", status}, {"message", message}, {"type", type}}}};
}

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int status, const std::string& type, const std::string& message) {
  send_json(res, error_body(status, type, message), status);
}

std::string sse(const json& event) {
  return "data: " + event.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}", prefix, rng());
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Comparing keys in time independent of where they differ.
bool same_key(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

bool is_public(const httplib::Request& req) {
  if (req.method == "OPTIONS") return true;
  if (req.path == "/health" || req.path == "/v1/health") return true;
  if (req.method == "GET" && (req.path == "/" || find_web_asset(req.path.substr(1)) != nullptr)) return true;
  return false;
}

enum class Dialect { kLlama, kOpenAiCompletion, kOpenAiChat };

// One streamed response's state, shared by the content provider's calls.
struct StreamState {
  std::shared_ptr<Task> task;
  Dialect dialect;
  ResponseInfo info;
  bool include_usage = false;
  bool role_sent = false;
};

}  // namespace

HttpServer::HttpServer(Scheduler& scheduler, ServerOptions options)
    : scheduler_(scheduler), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  const int threads = options_.http_threads > 0 ? options_.http_threads : scheduler_.n_slots() + 64 + 4;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second server
  // bind the same port silently and take half the connections.
  http_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_read_timeout(options_.read_timeout);
  http_->set_write_timeout(std::chrono::seconds(60));
  install_routes();
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
    if (port < 0) trit::fail("cannot listen on {}: no free port", options_.host);
  } else if (!http_->bind_to_port(options_.host, port)) {
    trit::fail("cannot listen on {}:{}: the address is in use or not available here", options_.host, port);
  }
  return port;
}

bool HttpServer::serve() { return http_->listen_after_bind(); }

bool HttpServer::wait_idle(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (in_flight_->load() > 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void HttpServer::stop() { http_->stop(); }

void HttpServer::install_routes() {
  httplib::Server& http = *http_;
  const model::Model& model = scheduler_.model();
  const tokenizer::Tokenizer& tok = model.tokenizer();
  const tokenizer::ChatFormat chat_format = tokenizer::chat_format_for(tok.vocab().chat_template);

  // Authentication and CORS, before any route.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!options_.cors_origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", options_.cors_origin);
      res.set_header("Vary", "Origin");
      if (req.method == "OPTIONS") {
        res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        res.set_header("Access-Control-Max-Age", "600");
        res.status = 204;
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (options_.api_key.empty() || is_public(req)) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.rfind(prefix, 0) != 0) {
      send_error(res, 401, "authentication_error", "an API key is required: send 'Authorization: Bearer <key>'");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!same_key(auth.substr(prefix.size()), options_.api_key)) {
      send_error(res, 401, "authentication_error", "invalid API key");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const ApiError& e) {
      send_error(res, e.status, e.type, e.what());
    } catch (const Unavailable& e) {
      send_error(res, 503, "unavailable_error", e.what());
    } catch (const trit::Error& e) {
      send_error(res, 400, "invalid_request_error", e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, "server_error", fmt::format("internal error: {}", e.what()));
    } catch (...) {
      send_error(res, 500, "server_error", "internal error");
    }
  });

  // Statuses httplib sets itself (unknown route, body too large, bad request line) get a JSON body.
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.status == 204) return;
    if (res.status == 404)
      send_error(res, 404, "not_found_error", fmt::format("no such endpoint: {} {}", req.method, req.path));
    else if (res.status == 413)
      send_error(res, 413, "invalid_request_error",
                 fmt::format("the request body is larger than the limit of {} bytes", options_.max_body_bytes));
    else if (res.status == 405)
      send_error(res, 405, "invalid_request_error", fmt::format("{} is not allowed on {}", req.method, req.path));
    else
      send_error(res, res.status, "invalid_request_error", fmt::format("HTTP error {}", res.status));
  });

  // The web chat page and its files.
  auto serve_asset = [](const std::string& name, httplib::Response& res) {
    const WebAsset* asset = find_web_asset(name);
    if (!asset) return send_error(res, 404, "not_found_error", fmt::format("no such file: /{}", name));
    res.set_content(std::string(asset->data), std::string(content_type_for(name)).c_str());
  };
  http.Get("/", [serve_asset](const httplib::Request&, httplib::Response& res) { serve_asset("index.html", res); });
  http.Get(R"(/([A-Za-z0-9_-]+\.(?:html|js|css|svg|png)))",
           [serve_asset](const httplib::Request& req, httplib::Response& res) { serve_asset(req.matches[1], res); });

  auto health = [](const httplib::Request&, httplib::Response& res) { send_json(res, {{"status", "ok"}}); };
  http.Get("/health", health);
  http.Get("/v1/health", health);

  auto models = [this, &model](const httplib::Request&, httplib::Response& res) {
    const auto& h = model.hparams();
    send_json(res, {{"object", "list"},
                    {"data", json::array({{{"id", options_.model_name},
                                           {"object", "model"},
                                           {"created", unix_seconds()},
                                           {"owned_by", "trit"},
                                           {"meta",
                                            {{"n_vocab", h.n_vocab},
                                             {"n_ctx_train", h.n_ctx_train},
                                             {"n_embd", h.n_embd},
                                             {"n_layer", h.n_layer},
                                             {"architecture", h.arch}}}}})}});
  };
  http.Get("/v1/models", models);
  http.Get("/models", models);

  http.Get("/props", [this, &tok, chat_format](const httplib::Request&, httplib::Response& res) {
    const sampling::SamplerParams d;
    send_json(res, {{"default_generation_settings",
                     {{"n_ctx", scheduler_.n_ctx()},
                      {"temperature", d.temperature},
                      {"top_k", d.top_k},
                      {"top_p", d.top_p},
                      {"min_p", d.min_p},
                      {"repeat_penalty", d.repeat_penalty},
                      {"repeat_last_n", d.repeat_last_n},
                      {"n_predict", options_.max_tokens}}},
                    {"total_slots", scheduler_.n_slots()},
                    {"model_path", options_.model_path},
                    {"model_alias", options_.model_name},
                    {"chat_template", tok.vocab().chat_template.value_or("")},
                    {"chat_format", std::string(tokenizer::chat_format_name(chat_format))},
                    {"build_info", "trit " + runtime::describe_cpu()}});
  });

  http.Get("/slots", [this](const httplib::Request&, httplib::Response& res) {
    json slots = json::array();
    for (const SlotInfo& s : scheduler_.slots())
      slots.push_back({{"id", s.id},
                       {"is_processing", s.busy},
                       {"id_task", s.busy ? json(s.task_id) : json(-1)},
                       {"n_ctx", s.n_ctx},
                       {"n_prompt_tokens", s.n_prompt},
                       {"n_decoded", s.n_decoded},
                       {"n_cached_tokens", s.n_cached}});
    send_json(res, slots);
  });

  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(prometheus_metrics(scheduler_.stats(), scheduler_.n_slots()), "text/plain; version=0.0.4");
  });

  http.Post("/tokenize", [&tok](const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req.body);
    const auto content = body.find("content");
    if (content == body.end() || !content->is_string()) throw bad_request("'content' must be a string");
    const bool add_special = body.value("add_special", false);
    const bool with_pieces = body.value("with_pieces", false);
    const auto ids = add_special ? tokenizer::encode_prompt(tok, content->get<std::string>())
                                 : tok.encode(content->get<std::string>(), false, true);
    json tokens = json::array();
    for (int32_t id : ids)
      tokens.push_back(with_pieces ? json{{"id", id}, {"piece", tok.token_to_piece(id, true)}} : json(id));
    send_json(res, {{"tokens", tokens}});
  });

  http.Post("/detokenize", [&tok](const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req.body);
    const auto tokens = body.find("tokens");
    if (tokens == body.end() || !tokens->is_array()) throw bad_request("'tokens' must be an array of token ids");
    std::vector<int32_t> ids;
    for (size_t i = 0; i < tokens->size(); ++i) {
      const json& t = (*tokens)[i];
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok.n_tokens())
        throw bad_request(fmt::format("'tokens[{}]' is not a token id of this model (0..{})", i, tok.n_tokens() - 1));
      ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
    send_json(res, {{"content", tok.decode(ids)}});
  });

  // Generation, in the three dialects.
  auto generate = [this, &tok, chat_format](const httplib::Request& req, httplib::Response& res, Dialect dialect) {
    // Counted from here until the response is written (for a stream: until its releaser runs).
    struct InFlight {
      std::shared_ptr<std::atomic<int>> count;
      explicit InFlight(std::shared_ptr<std::atomic<int>> c) : count(std::move(c)) { ++*count; }
      ~InFlight() { --*count; }
    };
    auto in_flight = std::make_shared<InFlight>(in_flight_);
    const json body = parse_body(req.body);
    CompletionRequest r = dialect == Dialect::kLlama              ? parse_llama_completion(body)
                          : dialect == Dialect::kOpenAiCompletion ? parse_openai_completion(body)
                                                                  : parse_openai_chat(body);
    std::vector<int32_t> prompt = r.prompt_tokens;
    if (dialect == Dialect::kOpenAiChat) r.prompt_text = tokenizer::render_chat(chat_format, r.messages, true, "");
    if (r.prompt_text) prompt = tokenizer::encode_prompt(tok, *r.prompt_text);
    if (options_.max_tokens >= 0 && (r.params.n_predict < 0 || r.params.n_predict > options_.max_tokens))
      r.params.n_predict = options_.max_tokens;

    std::shared_ptr<Task> task;
    try {
      task = scheduler_.submit(std::move(prompt), r.params);
    } catch (const trit::Error& e) {
      throw bad_request(e.what());
    }
    ResponseInfo info{random_id(dialect == Dialect::kOpenAiChat ? "chatcmpl-" : "cmpl-"), options_.model_name,
                      unix_seconds()};

    if (!r.stream) {
      json probabilities = json::array();  // llama-server's n_probs: one entry per generated token
      if (r.params.n_probs > 0)
        while (!task->done())
          if (auto piece = task->next(std::chrono::milliseconds(200)); piece && !piece->probs.empty())
            probabilities.push_back(llama_probabilities(*piece));
      const TaskResult result = task->wait();
      if (dialect == Dialect::kLlama)
        send_json(res, llama_final(result, info, result.content, r.params.n_probs > 0 ? probabilities : json()));
      if (dialect == Dialect::kOpenAiCompletion) send_json(res, openai_completion(result, info));
      if (dialect == Dialect::kOpenAiChat) send_json(res, openai_chat(result, info));
      return;
    }

    auto state = std::make_shared<StreamState>(StreamState{task, dialect, info, r.include_usage});
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [state](size_t, httplib::DataSink& sink) {
          auto write = [&](const std::string& s) {
            if (sink.write(s.data(), s.size())) return true;
            state->task->cancel();  // the client has gone: free its slot
            return false;
          };
          if (state->dialect == Dialect::kOpenAiChat && !state->role_sent) {
            state->role_sent = true;
            if (!write(sse(openai_chat_chunk({{"role", "assistant"}, {"content", ""}}, nullptr, state->info))))
              return false;
          }
          if (auto piece = state->task->next(std::chrono::milliseconds(200))) {
            if (piece->text.empty() && piece->probs.empty()) return true;
            switch (state->dialect) {
              case Dialect::kLlama:
                return write(sse(llama_piece(*piece, state->task->slot())));
              case Dialect::kOpenAiCompletion:
                return write(sse(openai_completion_chunk(piece->text, nullptr, state->info)));
              case Dialect::kOpenAiChat:
                return write(sse(openai_chat_chunk({{"content", piece->text}}, nullptr, state->info)));
            }
          }
          if (!state->task->done()) return true;  // still generating
          TaskResult result;
          try {
            result = state->task->wait();
          } catch (const std::exception& e) {
            write(sse(error_body(500, "server_error", e.what())));
            sink.done();
            return true;
          }
          const std::string reason = finish_reason(result.reason);
          bool ok = true;
          if (state->dialect == Dialect::kLlama) {
            ok = write(sse(llama_final(result, state->info, "", json())));
          } else {
            ok = state->dialect == Dialect::kOpenAiChat
                     ? write(sse(openai_chat_chunk(json::object(), reason.c_str(), state->info)))
                     : write(sse(openai_completion_chunk("", reason.c_str(), state->info)));
            if (ok && state->include_usage) {
              json usage = state->dialect == Dialect::kOpenAiChat ? openai_chat_chunk({}, nullptr, state->info)
                                                                  : openai_completion_chunk("", nullptr, state->info);
              usage["choices"] = json::array();
              usage["usage"] = openai_usage(result);
              ok = write(sse(usage));
            }
            if (ok) ok = write("data: [DONE]\n\n");
          }
          if (ok) sink.done();
          return ok;
        },
        [state, in_flight](bool success) {
          (void)in_flight;  // held until the stream is over
          if (!success) state->task->cancel();
        });
  };
  auto route = [&http, generate](const char* path, Dialect d) {
    http.Post(path, [generate, d](const httplib::Request& req, httplib::Response& res) { generate(req, res, d); });
  };
  // Embeddings: every input of every request waiting at the time in one forward pass.
  auto embeddings = [this, &tok](const httplib::Request& req, httplib::Response& res, bool openai) {
    const json body = parse_body(req.body);
    const EmbeddingRequest r = openai ? parse_openai_embeddings(body) : parse_llama_embedding(body);
    std::vector<std::vector<int32_t>> inputs;
    int64_t n_tokens = 0;
    try {
      for (const EmbeddingInput& in : r.inputs) {
        if (const auto* text = std::get_if<std::string>(&in))
          inputs.push_back(model::embedding_tokens(tok, *text, scheduler_.n_ctx()));
        else
          inputs.push_back(std::get<std::vector<int32_t>>(in));
        n_tokens += static_cast<int64_t>(inputs.back().size());
      }
    } catch (const trit::Error& e) {
      throw bad_request(e.what());
    }
    std::shared_ptr<EmbeddingJob> job;
    try {
      job = scheduler_.submit_embeddings(std::move(inputs));
    } catch (const trit::Error& e) {
      throw bad_request(e.what());
    }
    const auto vectors = job->wait();
    send_json(res, openai ? openai_embeddings(vectors, r.base64, options_.model_name, n_tokens)
                          : llama_embedding(vectors, r.single));
  };
  http.Post("/v1/embeddings",
            [embeddings](const httplib::Request& req, httplib::Response& res) { embeddings(req, res, true); });
  http.Post("/embeddings",
            [embeddings](const httplib::Request& req, httplib::Response& res) { embeddings(req, res, true); });
  http.Post("/embedding",
            [embeddings](const httplib::Request& req, httplib::Response& res) { embeddings(req, res, false); });

  route("/completion", Dialect::kLlama);
  route("/completions", Dialect::kLlama);
  route("/v1/completions", Dialect::kOpenAiCompletion);
  route("/v1/chat/completions", Dialect::kOpenAiChat);
  route("/chat/completions", Dialect::kOpenAiChat);
}

}  // namespace trit::server
