// The server in-process on loopback, driven by an HTTP client: both API dialects, streaming,
// continuous batching giving every request its lone answer, prompt-cache reuse, cancellation on
// disconnect, queue limits, authentication and every kind of bad request.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "model/dummy.h"
#include "model/forward.h"
#include "model/model.h"
#include "server/http_server.h"
#include "server/scheduler.h"
#include "support/test_data.h"

namespace trit::server {
namespace {

using nlohmann::json;

const std::string& model_path() {
  static const std::string path = [] {
    model::DummyOptions o;
    o.path = (testing::make_temp_dir("trit-server") / "tiny.gguf").string();
    o.shape = model::find_dummy_shape("tiny");
    o.show_progress = false;
    model::write_dummy_model(o);
    return o.path;
  }();
  return path;
}

// A POST whose response body goes to `receive` as it arrives (returning false hangs up).
httplib::Request streaming_request(const std::string& path, const json& body,
                                   std::function<bool(const char*, size_t)> receive) {
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [receive](const char* data, size_t n, uint64_t, uint64_t) { return receive(data, n); };
  return req;
}

// The CPU engine behind a backend that says it picks each sequence's top k logits on its device, as the
// GPU's does, so that the scheduler's device-sampling path runs without a GPU (Backend's own
// eval_top_k, counted).
class TopKOnDevice : public model::Backend {
 public:
  TopKOnDevice(const model::Model& m, int threads) : cpu_(m, threads) {}
  std::vector<std::span<const float>> eval(std::span<const model::SequenceInput> batch) override {
    return cpu_.eval(batch);
  }
  std::vector<model::TopLogits> eval_top_k(std::span<const model::SequenceInput> batch, int k) override {
    ++calls;
    return Backend::eval_top_k(batch, k);
  }
  int device_top_k_limit() const override { return 256; }
  std::vector<std::span<const float>> embed(std::span<const model::SequenceInput> batch, bool normalize) override {
    return cpu_.embed(batch, normalize);
  }
  const model::Model& model() const override { return cpu_.model(); }
  std::string device_name() const override { return "test device"; }

  std::atomic<int> calls{0};

 private:
  model::Forward cpu_;
};

struct Harness {
  explicit Harness(SchedulerOptions so = {}, ServerOptions ho = {}, bool top_k_on_device = false) {
    model = model::Model::load(model_path(), {.show_progress = false});
    if (so.n_ctx == 0) so.n_ctx = 256;
    if (so.n_threads == 0) so.n_threads = 2;
    if (top_k_on_device) {
      auto backend = std::make_unique<TopKOnDevice>(*model, so.n_threads);
      top_k_backend = backend.get();
      scheduler = std::make_unique<Scheduler>(std::move(backend), so);
    } else {
      scheduler = std::make_unique<Scheduler>(*model, so);
    }
    ho.port = 0;
    ho.model_name = "tiny";
    http = std::make_unique<HttpServer>(*scheduler, ho);
    port = http->bind();
    thread = std::thread([this] { http->serve(); });
  }
  ~Harness() {
    scheduler->drain(std::chrono::milliseconds(2000));
    http->wait_idle(std::chrono::milliseconds(2000));
    http->stop();
    thread.join();
  }
  httplib::Client client(const std::string& key = "") const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    if (!key.empty()) c.set_bearer_token_auth(key.c_str());
    return c;
  }
  json post(const std::string& path, const json& body, int want_status = 200) const {
    auto c = client();
    auto res = c.Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res) << path;
    if (!res) return {};
    EXPECT_EQ(res->status, want_status) << path << ": " << res->body;
    return json::parse(res->body);
  }
  // The events of a streamed response (the JSON after each "data: "), "[DONE]" as a string.
  std::vector<json> stream(const std::string& path, const json& body) const {
    auto c = client();
    std::string raw;
    auto res = c.send(streaming_request(path, body, [&](const char* data, size_t n) {
      raw.append(data, n);
      return true;
    }));
    EXPECT_TRUE(res);
    std::vector<json> events;
    size_t at = 0;
    while ((at = raw.find("data: ", at)) != std::string::npos) {
      const size_t end = raw.find("\n\n", at);
      const std::string payload = raw.substr(at + 6, end - at - 6);
      events.push_back(payload == "[DONE]" ? json("[DONE]") : json::parse(payload));
      at = end;
    }
    return events;
  }

  std::unique_ptr<model::Model> model;
  TopKOnDevice* top_k_backend = nullptr;  // when the harness was asked for one
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<HttpServer> http;
  int port = 0;
  std::thread thread;
};

json greedy(const std::string& prompt, int n = 12) {
  return {{"prompt", prompt}, {"n_predict", n}, {"temperature", 0}, {"ignore_eos", true}};
}

TEST(Server, HealthModelsPropsAndMetrics) {
  Harness h;
  auto c = h.client();
  auto res = c.Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["status"], "ok");
  auto models = json::parse(c.Get("/v1/models")->body);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "tiny");
  auto props = json::parse(c.Get("/props")->body);
  EXPECT_EQ(props["total_slots"], 1);
  EXPECT_EQ(props["default_generation_settings"]["n_ctx"], 256);
  h.post("/completion", greedy("hello"));
  res = c.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("# TYPE llamacpp:tokens_predicted_total counter\nllamacpp:tokens_predicted_total 12\n"),
            std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("trit:requests_total{outcome=\"done\"} 1"), std::string::npos);
}

TEST(Server, WebPageIsServedWithoutAKey) {
  Harness h({}, {.api_key = "sekrit"});
  auto c = h.client();
  auto res = c.Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(res->body.find("<html"), std::string::npos);
  EXPECT_EQ(c.Get("/nope.js")->status, 401);  // not an asset: needs the key like any route
}

TEST(Server, LlamaCompletionStreamedEqualsWhole) {
  Harness h;
  const json whole = h.post("/completion", greedy("Once upon a time"));
  EXPECT_EQ(whole["tokens_predicted"], 12);
  EXPECT_TRUE(whole["stopped_limit"].get<bool>());
  EXPECT_EQ(whole["stop_type"], "limit");
  EXPECT_GT(whole["tokens_evaluated"].get<int>(), 1);
  EXPECT_GT(whole["timings"]["predicted_per_second"].get<double>(), 0);
  json body = greedy("Once upon a time");
  body["stream"] = true;
  const auto events = h.stream("/completion", body);
  ASSERT_GE(events.size(), 2u);
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_FALSE(events[i]["stop"].get<bool>());
    text += events[i]["content"].get<std::string>();
  }
  EXPECT_TRUE(events.back()["stop"].get<bool>());
  EXPECT_EQ(text, whole["content"].get<std::string>());
}

TEST(Server, OpenAiCompletionAndChatStreamedEqualWhole) {
  Harness h;
  const json body = {{"prompt", "The sky is"}, {"max_tokens", 10}, {"temperature", 0}};
  const json whole = h.post("/v1/completions", body);
  EXPECT_EQ(whole["object"], "text_completion");
  EXPECT_EQ(whole["usage"]["completion_tokens"].get<int>() + whole["usage"]["prompt_tokens"].get<int>(),
            whole["usage"]["total_tokens"].get<int>());
  json sbody = body;
  sbody["stream"] = true;
  sbody["stream_options"] = {{"include_usage", true}};
  auto events = h.stream("/v1/completions", sbody);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (const auto& e : events)
    if (e.is_object() && !e["choices"].empty()) text += e["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(text, whole["choices"][0]["text"].get<std::string>());
  EXPECT_EQ(events[events.size() - 2]["usage"]["total_tokens"], whole["usage"]["total_tokens"]);

  const json chat = {
      {"messages", {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi"}}}},
      {"max_tokens", 8},
      {"temperature", 0}};
  const json cwhole = h.post("/v1/chat/completions", chat);
  EXPECT_EQ(cwhole["object"], "chat.completion");
  EXPECT_EQ(cwhole["choices"][0]["message"]["role"], "assistant");
  json cs = chat;
  cs["stream"] = true;
  events = h.stream("/v1/chat/completions", cs);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(events.back(), "[DONE]");
  std::string ctext;
  for (const auto& e : events)
    if (e.is_object() && e["choices"][0]["delta"].contains("content"))
      ctext += e["choices"][0]["delta"]["content"].get<std::string>();
  EXPECT_EQ(ctext, cwhole["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_FALSE(events[events.size() - 2]["choices"][0]["finish_reason"].is_null());
}

TEST(Server, ConcurrentRequestsGetTheirLoneAnswers) {
  std::vector<std::string> prompts;
  for (int i = 0; i < 12; ++i) prompts.push_back("prompt number " + std::to_string(i) + std::string(i, 'x'));
  std::vector<std::string> lone;
  {
    Harness h;
    for (const auto& p : prompts) lone.push_back(h.post("/completion", greedy(p, 16))["content"]);
  }
  Harness h({.n_slots = 4});
  std::vector<std::string> got(prompts.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < prompts.size(); ++i)
    clients.emplace_back([&, i] {
      json body = greedy(prompts[i], 16);
      body["stream"] = i % 2 == 0;
      if (i % 2 == 0) {
        for (const auto& e : h.stream("/completion", body)) got[i] += e["content"].get<std::string>();
      } else {
        got[i] = h.post("/completion", body)["content"];
      }
    });
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(got[i], lone[i]) << "prompt " << i;
  EXPECT_GE(h.scheduler->stats().max_step_sequences, 2);  // they really were batched
}

// Where the backend picks the top k on its device (a GPU), batched steps whose requests all sample from
// their top k logits take only those; each answer is the one the whole rows give (greedy and seeded
// top-k sampling alike), and a request that wants token probabilities makes its steps take whole rows.
TEST(Server, SamplingFromTopLogitsOnTheDeviceGivesTheSameAnswers) {
  std::vector<json> bodies;
  for (int i = 0; i < 6; ++i) {
    json body = greedy("sample " + std::to_string(i) + std::string(i, 'y'), 16);
    if (i % 2 == 1) body.update({{"temperature", 0.9}, {"top_k", 20 + i}, {"seed", 100 + i}});
    bodies.push_back(body);
  }
  json with_probs = greedy("probabilities", 8);
  with_probs["n_probs"] = 3;
  bodies.push_back(with_probs);
  std::vector<std::string> lone;
  {
    Harness h;
    for (const auto& b : bodies) lone.push_back(h.post("/completion", b)["content"]);
  }
  Harness h({.n_slots = 4}, {}, /*top_k_on_device=*/true);
  std::vector<std::string> got(bodies.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < bodies.size(); ++i)
    clients.emplace_back([&, i] { got[i] = h.post("/completion", bodies[i])["content"]; });
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < bodies.size(); ++i) EXPECT_EQ(got[i], lone[i]) << "request " << i;
  EXPECT_GT(h.top_k_backend->calls.load(), 0);
}

TEST(Server, CachedPromptPrefixIsReusedWithTheSameAnswer) {
  Harness h;
  const json first = h.post("/completion", greedy("a long shared prefix and then one ending"));
  const json again = h.post("/completion", greedy("a long shared prefix and then one ending"));
  EXPECT_EQ(again["content"], first["content"]);
  EXPECT_GT(again["tokens_cached"].get<int>(), 0);
  EXPECT_EQ(again["tokens_cached"].get<int>(), again["tokens_evaluated"].get<int>() - 2);
  json no_cache = greedy("a long shared prefix and then one ending");
  no_cache["cache_prompt"] = false;
  EXPECT_EQ(h.post("/completion", no_cache)["tokens_cached"], 0);
}

TEST(Server, StopStringsAndLimits) {
  Harness h;
  const json base = h.post("/completion", greedy("count", 24));
  const std::string text = base["content"];
  ASSERT_GE(text.size(), 8u);
  json body = greedy("count", 24);
  body["stop"] = {text.substr(4, 3)};
  const json stopped = h.post("/completion", body);
  EXPECT_EQ(stopped["content"], text.substr(0, text.find(text.substr(4, 3))));
  EXPECT_TRUE(stopped["stopped_word"].get<bool>());
  EXPECT_EQ(stopped["stopping_word"], text.substr(4, 3));
  const json none = h.post("/completion", greedy("count", 0));
  EXPECT_EQ(none["tokens_predicted"], 0);
  EXPECT_EQ(none["content"], "");
}

TEST(Server, TokenProbabilitiesWhenAsked) {
  Harness h;
  json body = greedy("probabilities", 5);
  body["n_probs"] = 3;
  const json r = h.post("/completion", body);
  const json& probs = r["completion_probabilities"];
  ASSERT_EQ(probs.size(), 5u);
  for (const json& step : probs) {
    ASSERT_EQ(step["probs"].size(), 3u);
    EXPECT_GE(step["probs"][0]["prob"].get<double>(), step["probs"][1]["prob"].get<double>());
    EXPECT_GT(step["probs"][0]["prob"].get<double>(), 0.0);
    EXPECT_LE(step["probs"][0]["prob"].get<double>(), 1.0);
  }
  EXPECT_FALSE(h.post("/completion", greedy("probabilities", 5)).contains("completion_probabilities"));
}

TEST(Server, TokenizeDetokenizeRoundTrip) {
  Harness h;
  const json t = h.post("/tokenize", {{"content", "hello world"}});
  ASSERT_TRUE(t["tokens"].is_array());
  ASSERT_FALSE(t["tokens"].empty());
  EXPECT_EQ(h.post("/detokenize", {{"tokens", t["tokens"]}})["content"], "hello world");
  const json ids = h.post("/completion", {{"prompt", t["tokens"]}, {"n_predict", 4}, {"temperature", 0}});
  EXPECT_EQ(ids["tokens_evaluated"], t["tokens"].size());
}

TEST(Server, BadRequestsGetPreciseErrorsAndTheServerStaysUp) {
  Harness h({}, {.max_body_bytes = 4096});
  auto c = h.client();
  auto check = [&](const std::string& path, const std::string& body, int status, const std::string& needle) {
    auto res = c.Post(path.c_str(), body, "application/json");
    ASSERT_TRUE(res) << body;
    EXPECT_EQ(res->status, status) << body << " -> " << res->body;
    const json j = json::parse(res->body);
    EXPECT_EQ(j["error"]["code"], status);
    EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos) << res->body;
  };
  check("/completion", "{not json", 400, "not valid JSON");
  check("/completion", "[1,2]", 400, "must be a JSON object");
  check("/completion", R"({"prompt": 5})", 400, "'prompt' must be");
  check("/completion", R"({"prompt": "x", "n_predict": "ten"})", 400, "'n_predict' must be an integer");
  check("/completion", R"({"prompt": "x", "temperature": "hot"})", 400, "'temperature' must be a number");
  check("/completion", R"({"prompt": [1, 999999]})", 400, "out of range");
  check("/completion", R"({"prompt": "x", "top_p": 0})", 400, "top-p must be > 0");
  check("/v1/chat/completions", R"({"messages": "hi"})", 400, "'messages' must be an array");
  check("/v1/chat/completions", R"({"messages": [{"role": "robot", "content": "x"}]})", 400, "role");
  check("/v1/completions", R"({"prompt": "x", "n": 3})", 400, "'n' must be 1");
  check("/completion", json{{"prompt", std::string(1500, 'z') + " end"}}.dump(), 400, "context holds 256");
  check("/completion", std::string(5000, ' '), 413, "larger than the limit");
  auto res = c.Get("/no/such/thing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "not_found_error");
  EXPECT_EQ(h.post("/completion", greedy("still alive", 3))["tokens_predicted"], 3);
}

TEST(Server, ApiKeyGuardsEverythingButHealth) {
  Harness h({}, {.api_key = "sekrit"});
  EXPECT_EQ(h.client().Get("/health")->status, 200);
  auto res = h.client().Post("/completion", greedy("x").dump(), "application/json");
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "authentication_error");
  EXPECT_EQ(h.client("wrong").Get("/v1/models")->status, 401);
  EXPECT_EQ(h.client("sekrit").Get("/v1/models")->status, 200);
  EXPECT_EQ(h.client("sekrit").Post("/completion", greedy("x", 2).dump(), "application/json")->status, 200);
}

TEST(Server, CorsOffByDefaultAndOnWhenAsked) {
  {
    Harness h;
    EXPECT_FALSE(h.client().Get("/health")->has_header("Access-Control-Allow-Origin"));
  }
  Harness h({}, {.cors_origin = "https://example.org"});
  auto res = h.client().Options("/v1/chat/completions");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://example.org");
}

TEST(Server, DisconnectMidStreamFreesTheSlot) {
  Harness h({.n_ctx = 4096});  // a long generation: thousands of tokens unless cancelled
  std::atomic<int> chunks{0};
  {
    auto c = h.client();
    json body = greedy("go on forever", 4000);
    body["stream"] = true;
    c.send(streaming_request("/completion", body, [&](const char*, size_t) { return ++chunks < 3; }));  // hang up
  }
  EXPECT_GE(chunks.load(), 3);
  bool idle = false;
  for (int i = 0; i < 100 && !idle; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    idle = !h.scheduler->slots()[0].busy;
  }
  EXPECT_TRUE(idle);
  EXPECT_EQ(h.scheduler->stats().requests_cancelled, 1);
  EXPECT_LT(h.scheduler->slots()[0].n_decoded, 4000);
  EXPECT_EQ(h.post("/completion", greedy("next", 3))["tokens_predicted"], 3);
}

TEST(Server, FullQueueAnswers503) {
  Harness h({.n_slots = 1, .n_ctx = 4096, .max_queue = 0});
  std::thread busy([&] { h.post("/completion", greedy("occupy the only slot", 4000)); });
  for (int i = 0; i < 200 && !h.scheduler->slots()[0].busy; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto res = h.client().Post("/completion", greedy("one more", 2).dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "unavailable_error");
  busy.join();
}

}  // namespace
}  // namespace trit::server
