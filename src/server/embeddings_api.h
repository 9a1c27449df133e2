// The embedding endpoints' bodies: OpenAI's POST /v1/embeddings (input: a string, strings, token ids
// or lists of them; encoding_format float or base64) and llama-server's POST /embedding (content).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace trit::server {

// One input: text to tokenise, or token ids as given.
using EmbeddingInput = std::variant<std::string, std::vector<int32_t>>;

struct EmbeddingRequest {
  std::vector<EmbeddingInput> inputs;
  bool base64 = false;  // encoding_format "base64": little-endian float32 bytes, base64-encoded
  bool single = false;  // llama-server: content was one string (answer {"embedding": [...]})
};

EmbeddingRequest parse_openai_embeddings(const nlohmann::json& body);
EmbeddingRequest parse_llama_embedding(const nlohmann::json& body);

// {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}.
nlohmann::json openai_embeddings(const std::vector<std::vector<float>>& vectors, bool base64, const std::string& model,
                                 int64_t n_tokens);
// {"embedding": [...]} for one string; [{"index", "embedding"}] for several inputs.
nlohmann::json llama_embedding(const std::vector<std::vector<float>>& vectors, bool single);

std::string base64_floats(const std::vector<float>& v);

}  // namespace trit::server
