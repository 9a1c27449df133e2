// /v1/embeddings and /embedding on an embedding model (the tiny Qwen3-style BitNet embedding shape):
// unit vectors of n_embd floats, each input of a batch exactly as it comes alone, base64 equal to the
// floats, concurrent requests batched without changing any number, and bad inputs as 400s.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "model/dummy.h"
#include "model/model.h"
#include "server/embeddings_api.h"
#include "server/http_server.h"
#include "server/scheduler.h"
#include "support/test_data.h"

namespace trit::server {
namespace {

using nlohmann::json;

struct EmbedServer {
  EmbedServer() {
    static const std::string path = [] {
      model::DummyOptions o;
      o.path = (testing::make_temp_dir("trit-embed-server") / "embed.gguf").string();
      o.shape = model::find_dummy_shape("embed-qwen3-tiny");
      o.show_progress = false;
      model::write_dummy_model(o);
      return o.path;
    }();
    model = model::Model::load(path, {.show_progress = false});
    scheduler = std::make_unique<Scheduler>(*model, SchedulerOptions{.n_slots = 2, .n_ctx = 256, .n_threads = 2});
    http = std::make_unique<HttpServer>(*scheduler, ServerOptions{.port = 0, .model_name = "embed"});
    port = http->bind();
    thread = std::thread([this] { http->serve(); });
  }
  ~EmbedServer() {
    scheduler->drain(std::chrono::milliseconds(2000));
    http->wait_idle(std::chrono::milliseconds(2000));
    http->stop();
    thread.join();
  }
  json post(const std::string& path, const json& body, int want = 200) const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    auto res = c.Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, want) << res->body;
    return json::parse(res->body);
  }
  std::unique_ptr<model::Model> model;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<HttpServer> http;
  int port = 0;
  std::thread thread;
};

std::vector<float> floats(const json& j) { return j.get<std::vector<float>>(); }

double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

std::vector<float> from_base64(const std::string& s) {
  auto value = [](char c) -> uint32_t {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : 63;
  };
  std::vector<unsigned char> bytes;
  for (size_t i = 0; i + 3 < s.size(); i += 4) {
    const uint32_t n = value(s[i]) << 18 | value(s[i + 1]) << 12 | (s[i + 2] == '=' ? 0 : value(s[i + 2]) << 6) |
                       (s[i + 3] == '=' ? 0 : value(s[i + 3]));
    bytes.push_back(static_cast<unsigned char>(n >> 16));
    if (s[i + 2] != '=') bytes.push_back(static_cast<unsigned char>(n >> 8));
    if (s[i + 3] != '=') bytes.push_back(static_cast<unsigned char>(n));
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

TEST(EmbeddingsApi, OpenAiShapeUnitVectorsAndBatchEqualsAlone) {
  EmbedServer s;
  const int64_t n_embd = s.model->hparams().n_embd;
  const std::vector<std::string> texts = {"the first text", "a second, longer text about something", "3"};
  const json batch = s.post("/v1/embeddings", {{"input", texts}, {"model", "whatever"}});
  EXPECT_EQ(batch["object"], "list");
  EXPECT_EQ(batch["model"], "embed");
  ASSERT_EQ(batch["data"].size(), texts.size());
  EXPECT_GT(batch["usage"]["prompt_tokens"].get<int>(), 3);
  EXPECT_EQ(batch["usage"]["prompt_tokens"], batch["usage"]["total_tokens"]);
  for (size_t i = 0; i < texts.size(); ++i) {
    const json& d = batch["data"][i];
    EXPECT_EQ(d["object"], "embedding");
    EXPECT_EQ(d["index"], i);
    const auto v = floats(d["embedding"]);
    ASSERT_EQ(static_cast<int64_t>(v.size()), n_embd);
    EXPECT_NEAR(norm(v), 1.0, 1e-5);
    const auto alone = floats(s.post("/v1/embeddings", {{"input", texts[i]}})["data"][0]["embedding"]);
    EXPECT_EQ(v, alone) << "input " << i;
  }
  EXPECT_NE(floats(batch["data"][0]["embedding"]), floats(batch["data"][1]["embedding"]));
}

TEST(EmbeddingsApi, Base64IsTheFloatsBytes) {
  EmbedServer s;
  const auto f = floats(s.post("/v1/embeddings", {{"input", "hello"}})["data"][0]["embedding"]);
  const json b = s.post("/v1/embeddings", {{"input", "hello"}, {"encoding_format", "base64"}});
  EXPECT_EQ(from_base64(b["data"][0]["embedding"].get<std::string>()), f);
}

TEST(EmbeddingsApi, LlamaServerShapeAndTokenInputs) {
  EmbedServer s;
  const json one = s.post("/embedding", {{"content", "hello"}});
  const auto v = floats(one["embedding"]);
  EXPECT_EQ(v, floats(s.post("/v1/embeddings", {{"input", "hello"}})["data"][0]["embedding"]));
  const json ids = s.post("/tokenize", {{"content", "hello"}, {"add_special", true}});
  const json by_ids = s.post("/v1/embeddings", {{"input", ids["tokens"]}});
  EXPECT_EQ(by_ids["data"].size(), 1u);
  const json many = s.post("/embedding", {{"content", {"a", "b"}}});
  ASSERT_TRUE(many.is_array());
  EXPECT_EQ(many.size(), 2u);
  EXPECT_EQ(many[1]["index"], 1);
}

TEST(EmbeddingsApi, ConcurrentRequestsAreBatchedWithoutChangingNumbers) {
  EmbedServer s;
  std::vector<std::string> texts;
  for (int i = 0; i < 8; ++i) texts.push_back("concurrent input number " + std::to_string(i));
  std::vector<std::vector<float>> alone;
  for (const auto& t : texts) alone.push_back(floats(s.post("/v1/embeddings", {{"input", t}})["data"][0]["embedding"]));
  std::vector<std::vector<float>> got(texts.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < texts.size(); ++i)
    clients.emplace_back([&, i] {
      got[i] = floats(s.post("/v1/embeddings", {{"input", texts[i]}})["data"][0]["embedding"]);
    });
  for (auto& c : clients) c.join();
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(got[i], alone[i]) << i;
  EXPECT_EQ(s.scheduler->stats().embedding_inputs, 16);
}

TEST(EmbeddingsApi, BadInputsAre400s) {
  EmbedServer s;
  auto message = [](const json& j) { return j["error"]["message"].get<std::string>(); };
  EXPECT_NE(message(s.post("/v1/embeddings", json::object(), 400)).find("'input' is required"), std::string::npos);
  EXPECT_NE(message(s.post("/v1/embeddings", {{"input", json::array()}}, 400)).find("empty"), std::string::npos);
  EXPECT_NE(message(s.post("/v1/embeddings", {{"input", 5}}, 400)).find("'input' must be"), std::string::npos);
  EXPECT_NE(message(s.post("/v1/embeddings", {{"input", {"ok", ""}}}, 400)).find("empty input"), std::string::npos);
  EXPECT_NE(
      message(s.post("/v1/embeddings", {{"input", "x"}, {"encoding_format", "int8"}}, 400)).find("encoding_format"),
      std::string::npos);
  EXPECT_NE(message(s.post("/v1/embeddings", {{"input", "x"}, {"dimensions", 8}}, 400)).find("dimensions"),
            std::string::npos);
  EXPECT_NE(message(s.post("/v1/embeddings", {{"input", {1, 99999999}}}, 400)).find("out of range"), std::string::npos);
  EXPECT_NE(message(s.post("/v1/embeddings", {{"input", std::string(3000, 'z') + " end"}}, 400)).find("limit"),
            std::string::npos);
  EXPECT_EQ(s.post("/v1/embeddings", {{"input", "still fine"}})["data"].size(), 1u);
}

}  // namespace
}  // namespace trit::server
