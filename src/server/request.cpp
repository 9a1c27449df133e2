// Request bodies -> CompletionRequest, with a precise 400 for every field that is wrong.
#include "server/request.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <random>

#include "server/api_error.h"

namespace trit::server {
namespace {

using nlohmann::json;

std::string type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

[[noreturn]] void wrong_type(const std::string& field, const char* want, const json& got) {
  throw bad_request(fmt::format("'{}' must be {}, not {}", field, want, type_name(got)));
}

// The field when present and not null.
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<double> number(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(name, "a number", *v);
  const double d = v->get<double>();
  if (!std::isfinite(d)) throw bad_request(fmt::format("'{}' must be finite", name));
  return d;
}

std::optional<int64_t> integer(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(name, "an integer", *v);
  const double d = v->get<double>();
  if (d != std::floor(d)) throw bad_request(fmt::format("'{}' must be an integer, not {}", name, d));
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
    throw bad_request(fmt::format("'{}' must be between {} and {} (got {})", name, lo, hi, d));
  return static_cast<int64_t>(d);
}

std::optional<bool> boolean(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(name, "true or false", *v);
  return v->get<bool>();
}

std::vector<int32_t> token_ids(const json& arr, const std::string& name) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < arr.size(); ++i) {
    const json& t = arr[i];
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > std::numeric_limits<int32_t>::max())
      throw bad_request(fmt::format("'{}[{}]' must be a token id (a non-negative integer)", name, i));
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return ids;
}

// prompt: a string, a one-string array, or token ids.
void read_prompt(const json& body, CompletionRequest& r) {
  const json* p = field(body, "prompt");
  if (!p) throw bad_request("'prompt' is required");
  if (p->is_string()) {
    r.prompt_text = p->get<std::string>();
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    r.prompt_text = (*p)[0].get<std::string>();
  } else if (p->is_array() && !p->empty() && (*p)[0].is_number()) {
    r.prompt_tokens = token_ids(*p, "prompt");
  } else if (p->is_array() && p->size() > 1 && (*p)[0].is_string()) {
    throw bad_request("several prompts in one request are not supported: send one request per prompt");
  } else {
    wrong_type("prompt", "a string or an array of token ids", *p);
  }
  if (r.prompt_text && r.prompt_text->empty()) throw bad_request("'prompt' is empty");
  if (!r.prompt_text && r.prompt_tokens.empty()) throw bad_request("'prompt' is empty");
}

// stop: a string or an array of strings.
std::vector<std::string> read_stop(const json& body) {
  const json* s = field(body, "stop");
  if (!s) return {};
  if (s->is_string()) return {s->get<std::string>()};
  if (!s->is_array()) wrong_type("stop", "a string or an array of strings", *s);
  std::vector<std::string> out;
  for (size_t i = 0; i < s->size(); ++i) {
    if (!(*s)[i].is_string()) wrong_type(fmt::format("stop[{}]", i), "a string", (*s)[i]);
    out.push_back((*s)[i].get<std::string>());
  }
  return out;
}

// The sampling fields both dialects share (llama.cpp names; OpenAI's are the same where they exist).
void read_sampling(const json& body, CompletionRequest& r) {
  sampling::SamplerParams& s = r.params.sampler;
  if (auto v = number(body, "temperature")) s.temperature = static_cast<float>(*v);
  if (auto v = integer(body, "top_k", -1, 1 << 30)) s.top_k = static_cast<int32_t>(*v);
  if (auto v = number(body, "top_p")) s.top_p = static_cast<float>(*v);
  if (auto v = number(body, "min_p")) s.min_p = static_cast<float>(*v);
  if (auto v = number(body, "repeat_penalty")) s.repeat_penalty = static_cast<float>(*v);
  if (auto v = integer(body, "repeat_last_n", -1, 1 << 30)) s.repeat_last_n = static_cast<int32_t>(*v);
  if (auto v = number(body, "presence_penalty")) s.presence_penalty = static_cast<float>(*v);
  if (auto v = number(body, "frequency_penalty")) s.frequency_penalty = static_cast<float>(*v);
  const auto seed = integer(body, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  if (seed && *seed >= 0) {
    s.seed = static_cast<uint64_t>(*seed);
  } else {
    s.seed = std::random_device{}();
  }
  try {
    s.validate();
  } catch (const std::exception& e) {
    throw bad_request(e.what());
  }
  r.params.stops = read_stop(body);
  if (auto v = boolean(body, "stream")) r.stream = *v;
  if (auto v = boolean(body, "ignore_eos")) r.params.ignore_eos = *v;
  if (auto v = boolean(body, "cache_prompt")) r.params.cache_prompt = *v;
  if (auto v = integer(body, "n_probs", 0, 100)) r.params.n_probs = static_cast<int32_t>(*v);
  if (const json* m = field(body, "model")) {
    if (!m->is_string()) wrong_type("model", "a string", *m);
    r.model = m->get<std::string>();
  }
}

// OpenAI-only fields: n must be 1, logprobs are not offered, stream_options.include_usage.
void read_openai_common(const json& body, CompletionRequest& r) {
  if (auto n = integer(body, "n", 1, 128); n && *n != 1) throw bad_request("'n' must be 1: one completion per request");
  const json* lp = field(body, "logprobs");
  if (lp && !(lp->is_boolean() && !lp->get<bool>()) && !(lp->is_number() && lp->get<double>() == 0))
    throw bad_request("'logprobs' is not supported here; llama-server's /completion offers n_probs");
  if (field(body, "tools") || field(body, "functions"))
    throw bad_request("tool and function calling are not supported");
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) wrong_type("stream_options", "an object", *so);
    if (auto v = boolean(*so, "include_usage")) r.include_usage = *v;
  }
}

}  // namespace

json parse_body(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    throw bad_request(fmt::format("the request body is not valid JSON: {}", e.what()));
  }
  if (!j.is_object()) throw bad_request(fmt::format("the request body must be a JSON object, not {}", type_name(j)));
  return j;
}

CompletionRequest parse_llama_completion(const json& body) {
  CompletionRequest r;
  read_prompt(body, r);
  read_sampling(body, r);
  if (auto v = integer(body, "n_predict", -1, 1 << 30)) r.params.n_predict = *v;
  return r;
}

CompletionRequest parse_openai_completion(const json& body) {
  CompletionRequest r;
  read_prompt(body, r);
  read_sampling(body, r);
  read_openai_common(body, r);
  r.params.n_predict = 16;  // the OpenAI default for completions
  if (auto v = integer(body, "max_tokens", 0, 1 << 30)) r.params.n_predict = *v;
  return r;
}

CompletionRequest parse_openai_chat(const json& body) {
  CompletionRequest r;
  const json* msgs = field(body, "messages");
  if (!msgs) throw bad_request("'messages' is required");
  if (!msgs->is_array()) wrong_type("messages", "an array", *msgs);
  if (msgs->empty()) throw bad_request("'messages' is empty");
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    const std::string at = fmt::format("messages[{}]", i);
    if (!m.is_object()) wrong_type(at, "an object", m);
    const json* role = field(m, "role");
    if (!role || !role->is_string()) throw bad_request(fmt::format("'{}.role' must be a string", at));
    std::string role_name = role->get<std::string>();
    if (role_name == "developer") role_name = "system";
    if (role_name != "system" && role_name != "user" && role_name != "assistant")
      throw bad_request(fmt::format("'{}.role' must be system, user or assistant, not '{}'", at, role_name));
    std::string text;
    const json* content = field(m, "content");
    if (!content) {
      throw bad_request(fmt::format("'{}.content' is required", at));
    } else if (content->is_string()) {
      text = content->get<std::string>();
    } else if (content->is_array()) {  // [{type: "text", text: ...}]
      for (size_t k = 0; k < content->size(); ++k) {
        const json& part = (*content)[k];
        const json* type = part.is_object() ? field(part, "type") : nullptr;
        if (!type || *type != "text" || !field(part, "text") || !part["text"].is_string())
          throw bad_request(
              fmt::format("'{}.content[{}]' must be a text part {{\"type\": \"text\", \"text\": ...}}", at, k));
        text += part["text"].get<std::string>();
      }
    } else {
      wrong_type(at + ".content", "a string or an array of text parts", *content);
    }
    r.messages.push_back({role_name, text});
  }
  read_sampling(body, r);
  read_openai_common(body, r);
  if (auto v = integer(body, "max_tokens", 0, 1 << 30)) r.params.n_predict = *v;
  if (auto v = integer(body, "max_completion_tokens", 0, 1 << 30)) r.params.n_predict = *v;
  return r;
}

}  // namespace trit::server
