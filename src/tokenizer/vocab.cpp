// Vocab <-> the tokenizer.ggml.* section of a GGUF file.
#include "tokenizer/vocab.h"

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "runtime/error.h"

namespace trit::tokenizer {

namespace {

constexpr std::string_view kModel = "tokenizer.ggml.model";
constexpr std::string_view kPre = "tokenizer.ggml.pre";
constexpr std::string_view kTokens = "tokenizer.ggml.tokens";
constexpr std::string_view kScores = "tokenizer.ggml.scores";
constexpr std::string_view kTokenType = "tokenizer.ggml.token_type";
constexpr std::string_view kMerges = "tokenizer.ggml.merges";
constexpr std::string_view kAddBos = "tokenizer.ggml.add_bos_token";
constexpr std::string_view kAddEos = "tokenizer.ggml.add_eos_token";
constexpr std::string_view kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
constexpr std::string_view kChatTemplate = "tokenizer.chat_template";

// The special ids and their keys (llama.cpp's spelling, "seperator" included).
struct SpecialKey {
  std::string_view key;
  int32_t Vocab::*field;
};
constexpr SpecialKey kSpecialKeys[] = {
    {"tokenizer.ggml.bos_token_id", &Vocab::bos_id},       {"tokenizer.ggml.eos_token_id", &Vocab::eos_id},
    {"tokenizer.ggml.eot_token_id", &Vocab::eot_id},       {"tokenizer.ggml.eom_token_id", &Vocab::eom_id},
    {"tokenizer.ggml.unknown_token_id", &Vocab::unk_id},   {"tokenizer.ggml.padding_token_id", &Vocab::pad_id},
    {"tokenizer.ggml.seperator_token_id", &Vocab::sep_id},
};

const gguf::Array* find_typed_array(const gguf::Reader& reader, std::string_view key,
                                    bool (*element_ok)(gguf::ValueType), std::string_view expected,
                                    size_t expected_size) {
  const gguf::Array* array = reader.find_array(key);
  if (!array) return nullptr;
  if (!element_ok(array->element_type)) {
    fail("{}: metadata key '{}' is an array of {}, expected {}", reader.name(), key,
         gguf::value_type_name(array->element_type), expected);
  }
  if (expected_size != SIZE_MAX && array->items.size() != expected_size) {
    fail("{}: metadata key '{}' has {} entries but tokenizer.ggml.tokens has {}", reader.name(), key,
         array->items.size(), expected_size);
  }
  return array;
}

bool is_string_type(gguf::ValueType t) { return t == gguf::ValueType::STRING; }
bool is_float_type(gguf::ValueType t) { return t == gguf::ValueType::FLOAT32 || t == gguf::ValueType::FLOAT64; }
bool is_integer_type(gguf::ValueType t) {
  return t != gguf::ValueType::FLOAT32 && t != gguf::ValueType::FLOAT64 && t != gguf::ValueType::BOOL &&
         t != gguf::ValueType::STRING && t != gguf::ValueType::ARRAY;
}

std::vector<std::string> read_strings(const gguf::Array& array) {
  std::vector<std::string> out;
  out.reserve(array.items.size());
  for (const gguf::Value& v : array.items) out.push_back(*v.as_string());
  return out;
}

}  // namespace

Vocab Vocab::from_gguf(const gguf::Reader& reader) {
  Vocab v;
  const std::string& file = reader.name();
  v.model = reader.get_string(kModel);
  v.pre = reader.find_string(kPre).value_or("");

  const gguf::Array* tokens = find_typed_array(reader, kTokens, is_string_type, "strings", SIZE_MAX);
  if (!tokens) fail("{}: metadata key '{}' is missing", file, kTokens);
  if (tokens->items.empty()) fail("{}: metadata key '{}' is empty", file, kTokens);
  if (tokens->items.size() > static_cast<size_t>(INT32_MAX))
    fail("{}: metadata key '{}' has {} tokens, more than ids can hold", file, kTokens, tokens->items.size());
  v.tokens = read_strings(*tokens);
  const size_t n = v.tokens.size();

  if (const gguf::Array* scores = find_typed_array(reader, kScores, is_float_type, "floats", n)) {
    v.scores.reserve(n);
    for (const gguf::Value& s : scores->items) {
      double d = 0;
      s.to_double(d);
      v.scores.push_back(static_cast<float>(d));
    }
  }
  if (const gguf::Array* types = find_typed_array(reader, kTokenType, is_integer_type, "integers", n)) {
    v.types.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      int64_t t = -1;
      if (!types->items[i].to_int64(t) || t < 0 || t > static_cast<int64_t>(TokenType::kByte))
        fail("{}: metadata key '{}': token {} has unknown type {}", file, kTokenType, i, t);
      v.types.push_back(static_cast<TokenType>(t));
    }
  }
  if (const gguf::Array* merges = find_typed_array(reader, kMerges, is_string_type, "strings", SIZE_MAX)) {
    v.merges = read_strings(*merges);
    for (size_t i = 0; i < v.merges.size(); ++i) {
      if (v.merges[i].find(' ', 1) == std::string::npos)
        fail("{}: metadata key '{}': merge {} ('{}') is not two tokens separated by a space", file, kMerges, i,
             v.merges[i]);
    }
  }

  for (const SpecialKey& s : kSpecialKeys) {
    const std::optional<int64_t> id = reader.find_int(s.key);
    if (!id || *id == -1) continue;
    if (*id < 0 || *id >= static_cast<int64_t>(n))
      fail("{}: metadata key '{}' is {}, out of range for {} tokens", file, s.key, *id, n);
    v.*s.field = static_cast<int32_t>(*id);
  }
  v.add_bos = reader.find_bool(kAddBos);
  v.add_eos = reader.find_bool(kAddEos);
  v.add_space_prefix = reader.find_bool(kAddSpacePrefix);
  v.chat_template = reader.find_string(kChatTemplate);
  return v;
}

void Vocab::write_gguf(gguf::Writer& writer) const {
  auto string_array = [](const std::vector<std::string>& strings) {
    gguf::Array a{gguf::ValueType::STRING, {}};
    a.items.reserve(strings.size());
    for (const std::string& s : strings) a.items.emplace_back(s);
    return a;
  };
  writer.add(std::string(kModel), gguf::Value(model));
  if (!pre.empty()) writer.add(std::string(kPre), gguf::Value(pre));
  writer.add(std::string(kTokens), gguf::Value(string_array(tokens)));
  if (!scores.empty()) {
    gguf::Array a{gguf::ValueType::FLOAT32, {}};
    a.items.reserve(scores.size());
    for (float s : scores) a.items.emplace_back(s);
    writer.add(std::string(kScores), gguf::Value(std::move(a)));
  }
  if (!types.empty()) {
    gguf::Array a{gguf::ValueType::INT32, {}};
    a.items.reserve(types.size());
    for (TokenType t : types) a.items.emplace_back(static_cast<int32_t>(t));
    writer.add(std::string(kTokenType), gguf::Value(std::move(a)));
  }
  if (!merges.empty()) writer.add(std::string(kMerges), gguf::Value(string_array(merges)));
  for (const SpecialKey& s : kSpecialKeys) {
    if (this->*s.field >= 0) writer.add(std::string(s.key), gguf::Value(static_cast<uint32_t>(this->*s.field)));
  }
  if (add_bos) writer.add(std::string(kAddBos), gguf::Value(*add_bos));
  if (add_eos) writer.add(std::string(kAddEos), gguf::Value(*add_eos));
  if (add_space_prefix) writer.add(std::string(kAddSpacePrefix), gguf::Value(*add_space_prefix));
  if (chat_template) writer.add(std::string(kChatTemplate), gguf::Value(*chat_template));
}

}  // namespace trit::tokenizer
