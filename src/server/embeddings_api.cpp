// Embedding request parsing (a 400 naming the field for anything malformed) and response shapes.
#include "server/embeddings_api.h"

#include <fmt/format.h>

#include <cstring>
#include <limits>

#include "server/api_error.h"

namespace trit::server {
namespace {

using nlohmann::json;

std::vector<int32_t> ids_of(const json& arr, const std::string& where) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < arr.size(); ++i) {
    const json& t = arr[i];
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > std::numeric_limits<int32_t>::max())
      throw bad_request(fmt::format("'{}[{}]' must be a token id (a non-negative integer)", where, i));
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return ids;
}

// A string, an array of strings, an array of token ids, or an array of arrays of token ids.
std::vector<EmbeddingInput> read_inputs(const json& v, const char* field) {
  std::vector<EmbeddingInput> out;
  if (v.is_string()) {
    out.emplace_back(v.get<std::string>());
  } else if (v.is_array() && !v.empty() && v[0].is_number()) {
    out.emplace_back(ids_of(v, field));
  } else if (v.is_array() && !v.empty()) {
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string at = fmt::format("{}[{}]", field, i);
      if (v[i].is_string())
        out.emplace_back(v[i].get<std::string>());
      else if (v[i].is_array())
        out.emplace_back(ids_of(v[i], at));
      else
        throw bad_request(fmt::format("'{}' must be a string or an array of token ids", at));
    }
  } else if (v.is_array()) {
    throw bad_request(fmt::format("'{}' is empty", field));
  } else {
    throw bad_request(fmt::format("'{}' must be a string, an array of strings or an array of token ids", field));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const bool empty = std::visit([](const auto& x) { return x.empty(); }, out[i]);
    if (empty) throw bad_request(fmt::format("'{}' has an empty input (index {})", field, i));
  }
  return out;
}

}  // namespace

EmbeddingRequest parse_openai_embeddings(const json& body) {
  EmbeddingRequest r;
  const auto input = body.find("input");
  if (input == body.end() || input->is_null()) throw bad_request("'input' is required");
  r.inputs = read_inputs(*input, "input");
  if (const auto f = body.find("encoding_format"); f != body.end() && !f->is_null()) {
    if (*f == "base64")
      r.base64 = true;
    else if (*f != "float")
      throw bad_request("'encoding_format' must be \"float\" or \"base64\"");
  }
  if (const auto d = body.find("dimensions"); d != body.end() && !d->is_null())
    throw bad_request("'dimensions' is not supported: these models' vectors are not meant to be shortened");
  return r;
}

EmbeddingRequest parse_llama_embedding(const json& body) {
  EmbeddingRequest r;
  auto content = body.find("content");
  if (content == body.end() || content->is_null()) content = body.find("input");
  if (content == body.end() || content->is_null()) throw bad_request("'content' is required");
  r.inputs = read_inputs(*content, "content");
  r.single = content->is_string();
  return r;
}

std::string base64_floats(const std::vector<float>& v) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<unsigned char> bytes(v.size() * sizeof(float));
  std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian on every platform trit builds for
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = bytes[i], b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0,
                   b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const uint32_t n = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

json openai_embeddings(const std::vector<std::vector<float>>& vectors, bool base64, const std::string& model,
                       int64_t n_tokens) {
  json data = json::array();
  for (size_t i = 0; i < vectors.size(); ++i)
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", base64 ? json(base64_floats(vectors[i])) : json(vectors[i])}});
  return {{"object", "list"},
          {"data", data},
          {"model", model},
          {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}};
}

json llama_embedding(const std::vector<std::vector<float>>& vectors, bool single) {
  if (single) return {{"embedding", vectors.at(0)}};
  json out = json::array();
  for (size_t i = 0; i < vectors.size(); ++i) out.push_back({{"index", i}, {"embedding", vectors[i]}});
  return out;
}

}  // namespace trit::server
