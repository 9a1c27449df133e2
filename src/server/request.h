// Reading request bodies: the JSON of llama-server's /completion and the OpenAI /v1/completions and
// /v1/chat/completions into one CompletionRequest. Unknown fields are ignored (clients send many);
// a known field of the wrong type or out of range is a 400 naming the field.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/task.h"
#include "tokenizer/chat_template.h"

namespace trit::server {

struct CompletionRequest {
  // Either text (tokenised with BOS etc. as the model asks) or token ids.
  std::optional<std::string> prompt_text;
  std::vector<int32_t> prompt_tokens;
  std::vector<tokenizer::ChatMessage> messages;  // chat requests (rendered into prompt_text)
  GenerationParams params;
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  std::string model;           // echoed back
};

// The body as JSON; a 400 with the parser's message when it is not valid JSON or not an object.
nlohmann::json parse_body(const std::string& body);

// llama-server /completion: prompt (string or token ids), n_predict, temperature, top_k, top_p,
// min_p, repeat_penalty, repeat_last_n, presence_penalty, frequency_penalty, seed, stop, stream,
// n_probs, cache_prompt, ignore_eos.
CompletionRequest parse_llama_completion(const nlohmann::json& body);
// OpenAI /v1/completions: prompt, max_tokens, temperature, top_p, n, stop, stream, stream_options,
// seed, presence_penalty, frequency_penalty, logprobs, plus llama.cpp's extensions (top_k, min_p, ...).
CompletionRequest parse_openai_completion(const nlohmann::json& body);
// OpenAI /v1/chat/completions: messages [{role, content (string or text parts)}], max_tokens /
// max_completion_tokens, and the sampling fields above.
CompletionRequest parse_openai_chat(const nlohmann::json& body);

}  // namespace trit::server
