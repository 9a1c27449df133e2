// Response bodies in the two dialects: llama-server's /completion (whole and streamed) and the OpenAI
// completion and chat objects (whole, streamed chunks, usage).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "server/task.h"

namespace trit::server {

// What every response of one request shares.
struct ResponseInfo {
  std::string id;     // "cmpl-..." / "chatcmpl-..."
  std::string model;  // the model's name
  int64_t created;    // unix seconds
};

std::string finish_reason(StopReason reason);  // "stop" (end of text or stop string) or "length"

// llama-server /completion.
nlohmann::json llama_piece(const TextPiece& piece, int slot);  // a stream chunk
nlohmann::json llama_final(const TaskResult& r, const ResponseInfo& info, const std::string& content,
                           const nlohmann::json& probabilities);
nlohmann::json llama_probabilities(const TextPiece& piece);  // {content, probs: [{tok_str, prob}]}

// OpenAI text completions.
nlohmann::json openai_completion(const TaskResult& r, const ResponseInfo& info);
nlohmann::json openai_completion_chunk(const std::string& text, const char* finish, const ResponseInfo& info);

// OpenAI chat completions.
nlohmann::json openai_chat(const TaskResult& r, const ResponseInfo& info);
nlohmann::json openai_chat_chunk(const nlohmann::json& delta, const char* finish, const ResponseInfo& info);

nlohmann::json openai_usage(const TaskResult& r);
nlohmann::json timings(const TaskResult& r);

}  // namespace trit::server
