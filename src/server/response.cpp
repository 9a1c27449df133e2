// The JSON shapes clients parse: field names and types as llama-server and the OpenAI API give them.
#include "server/response.h"

namespace trit::server {

using nlohmann::json;

std::string finish_reason(StopReason reason) { return reason == StopReason::kLength ? "length" : "stop"; }

json timings(const TaskResult& r) {
  const int64_t prompt_n = r.n_prompt - r.n_cached;
  auto per_second = [](int64_t n, double ms) { return ms > 0 ? n * 1000.0 / ms : 0.0; };
  auto per_token = [](int64_t n, double ms) { return n > 0 ? ms / static_cast<double>(n) : 0.0; };
  return {{"prompt_n", prompt_n},
          {"prompt_ms", r.prompt_ms},
          {"prompt_per_token_ms", per_token(prompt_n, r.prompt_ms)},
          {"prompt_per_second", per_second(prompt_n, r.prompt_ms)},
          {"predicted_n", r.n_generated},
          {"predicted_ms", r.generation_ms},
          {"predicted_per_token_ms", per_token(r.n_generated, r.generation_ms)},
          {"predicted_per_second", per_second(r.n_generated, r.generation_ms)}};
}

json llama_piece(const TextPiece& piece, int slot) {
  json j = {{"content", piece.text}, {"stop", false}, {"id_slot", slot}, {"index", 0}};
  if (piece.token >= 0) j["tokens"] = json::array({piece.token});
  if (!piece.probs.empty()) j["completion_probabilities"] = json::array({llama_probabilities(piece)});
  return j;
}

json llama_probabilities(const TextPiece& piece) {
  json probs = json::array();
  for (const auto& p : piece.probs) probs.push_back({{"id", p.id}, {"tok_str", p.piece}, {"prob", p.prob}});
  return {{"content", piece.text}, {"probs", probs}};
}

json llama_final(const TaskResult& r, const ResponseInfo& info, const std::string& content, const json& probabilities) {
  const char* stop_type = r.reason == StopReason::kEos          ? "eos"
                          : r.reason == StopReason::kStopString ? "word"
                          : r.reason == StopReason::kLength     ? "limit"
                                                                : "none";
  json j = {{"content", content},
            {"id_slot", r.slot},
            {"index", 0},
            {"stop", true},
            {"model", info.model},
            {"tokens", json::array()},
            {"tokens_predicted", r.n_generated},
            {"tokens_evaluated", r.n_prompt},
            {"tokens_cached", r.n_cached},
            {"stop_type", stop_type},
            {"stopped_eos", r.reason == StopReason::kEos},
            {"stopped_word", r.reason == StopReason::kStopString},
            {"stopped_limit", r.reason == StopReason::kLength},
            {"stopping_word", r.stopping_word},
            {"truncated", r.truncated},
            {"has_new_line", content.find('\n') != std::string::npos},
            {"timings", timings(r)}};
  if (!probabilities.empty()) j["completion_probabilities"] = probabilities;
  return j;
}

json openai_usage(const TaskResult& r) {
  return {{"prompt_tokens", r.n_prompt},
          {"completion_tokens", r.n_generated},
          {"total_tokens", r.n_prompt + r.n_generated},
          {"prompt_tokens_details", {{"cached_tokens", r.n_cached}}}};
}

json openai_completion(const TaskResult& r, const ResponseInfo& info) {
  return {
      {"id", info.id},
      {"object", "text_completion"},
      {"created", info.created},
      {"model", info.model},
      {"system_fingerprint", "trit"},
      {"choices",
       json::array(
           {{{"text", r.content}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason(r.reason)}}})},
      {"usage", openai_usage(r)},
      {"timings", timings(r)}};
}

json openai_completion_chunk(const std::string& text, const char* finish, const ResponseInfo& info) {
  return {{"id", info.id},
          {"object", "text_completion"},
          {"created", info.created},
          {"model", info.model},
          {"system_fingerprint", "trit"},
          {"choices", json::array({{{"text", text},
                                    {"index", 0},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish ? json(finish) : json(nullptr)}}})}};
}

json openai_chat(const TaskResult& r, const ResponseInfo& info) {
  return {{"id", info.id},
          {"object", "chat.completion"},
          {"created", info.created},
          {"model", info.model},
          {"system_fingerprint", "trit"},
          {"choices", json::array({{{"index", 0},
                                    {"message", {{"role", "assistant"}, {"content", r.content}}},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish_reason(r.reason)}}})},
          {"usage", openai_usage(r)},
          {"timings", timings(r)}};
}

json openai_chat_chunk(const json& delta, const char* finish, const ResponseInfo& info) {
  return {{"id", info.id},
          {"object", "chat.completion.chunk"},
          {"created", info.created},
          {"model", info.model},
          {"system_fingerprint", "trit"},
          {"choices", json::array({{{"index", 0},
                                    {"delta", delta},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish ? json(finish) : json(nullptr)}}})}};
}

}  // namespace trit::server
