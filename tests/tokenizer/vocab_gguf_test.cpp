// Vocab <-> GGUF: a write/read round trip keeps every field, and malformed tokenizer metadata fails
// with a message naming the file and the key.
#include <gtest/gtest.h>

#include <filesystem>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "runtime/error.h"
#include "tokenizer/tokenizer_test_util.h"
#include "tokenizer/vocab.h"

namespace trit::tokenizer {
namespace {

using gguf::Array;
using gguf::Value;
using gguf::ValueType;

Vocab small_vocab() {
  Vocab v;
  v.model = "llama";
  v.pre = "default";
  v.tokens = {"<unk>",
              "<s>",
              "</s>",
              "<0x0A>",
              "\xE2\x96\x81",
              "a",
              "\xE2\x96\x81"
              "a"};
  v.scores = {0.0f, 0.0f, 0.0f, 0.0f, -1.0f, -2.0f, -0.5f};
  v.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl, TokenType::kByte,
             TokenType::kNormal,  TokenType::kNormal,  TokenType::kNormal};
  v.merges = {"\xE2\x96\x81 a"};
  v.bos_id = 1;
  v.eos_id = 2;
  v.unk_id = 0;
  v.pad_id = 2;
  v.add_bos = true;
  v.add_eos = false;
  v.add_space_prefix = true;
  v.chat_template = "{{ messages }}";
  return v;
}

std::filesystem::path temp_file(const std::string& name) {
  static const auto dir = ::trit::testing::make_temp_dir("trit-vocab");
  return dir / name;
}

// Writes only the given metadata and reads it back as a Vocab.
Vocab vocab_from_metadata(const std::string& name, std::vector<std::pair<std::string, Value>> metadata) {
  const auto path = temp_file(name + ".gguf").string();
  {
    gguf::Writer w(path);
    for (auto& [key, value] : metadata) w.add(key, std::move(value));
    w.finish();
  }
  auto reader = gguf::Reader::open(path);
  return Vocab::from_gguf(reader);
}

Value strings(std::vector<std::string> items) {
  Array a{ValueType::STRING, {}};
  for (auto& s : items) a.items.emplace_back(std::move(s));
  return Value(std::move(a));
}

template <typename T>
Value numbers(ValueType type, std::vector<T> items) {
  Array a{type, {}};
  for (T x : items) a.items.emplace_back(x);
  return Value(std::move(a));
}

std::vector<std::pair<std::string, Value>> valid_metadata() {
  std::vector<std::pair<std::string, Value>> m;
  m.emplace_back("tokenizer.ggml.model", Value(std::string("llama")));
  m.emplace_back("tokenizer.ggml.tokens", strings({"<unk>", "a", "b"}));
  m.emplace_back("tokenizer.ggml.scores", numbers<float>(ValueType::FLOAT32, {0.0f, -1.0f, -2.0f}));
  m.emplace_back("tokenizer.ggml.token_type", numbers<int32_t>(ValueType::INT32, {2, 1, 1}));
  return m;
}

// Replaces (or adds) one key of valid_metadata() and expects from_gguf to fail naming `needle`.
void expect_failure(const std::string& name, const std::string& key, std::optional<Value> value,
                    const std::string& needle) {
  auto m = valid_metadata();
  std::erase_if(m, [&](const auto& kv) { return kv.first == key; });
  if (value) m.emplace_back(key, std::move(*value));
  try {
    vocab_from_metadata(name, std::move(m));
    ADD_FAILURE() << name << ": no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(needle), std::string::npos) << name << ": " << message;
    EXPECT_NE(message.find(name + ".gguf"), std::string::npos)
        << name << ": message does not name the file: " << message;
  }
}

TEST(VocabGguf, WriteThenReadKeepsEveryField) {
  const Vocab v = small_vocab();
  const auto path = temp_file("round-trip.gguf").string();
  {
    gguf::Writer w(path);
    v.write_gguf(w);
    w.finish();
  }
  auto reader = gguf::Reader::open(path);
  const Vocab r = Vocab::from_gguf(reader);
  EXPECT_EQ(r.model, v.model);
  EXPECT_EQ(r.pre, v.pre);
  EXPECT_EQ(r.tokens, v.tokens);
  EXPECT_EQ(r.scores, v.scores);
  EXPECT_EQ(r.types, v.types);
  EXPECT_EQ(r.merges, v.merges);
  EXPECT_EQ(r.bos_id, 1);
  EXPECT_EQ(r.eos_id, 2);
  EXPECT_EQ(r.unk_id, 0);
  EXPECT_EQ(r.pad_id, 2);
  EXPECT_EQ(r.eot_id, -1);
  EXPECT_EQ(r.add_bos, std::optional<bool>(true));
  EXPECT_EQ(r.add_eos, std::optional<bool>(false));
  EXPECT_EQ(r.add_space_prefix, std::optional<bool>(true));
  EXPECT_EQ(r.chat_template, v.chat_template);
}

TEST(VocabGguf, RealVocabSurvivesRoundTripAndStillEncodes) {
  TRIT_REQUIRE_SHARED_DATA();
  const Tokenizer& original = testing::shared_tokenizer("gpt-2");
  const auto path = temp_file("gpt-2.gguf").string();
  {
    gguf::Writer w(path);
    original.vocab().write_gguf(w);
    w.finish();
  }
  auto reader = gguf::Reader::open(path);
  const auto copy = Tokenizer::create(Vocab::from_gguf(reader));
  EXPECT_EQ(copy->vocab().tokens, original.vocab().tokens);
  EXPECT_EQ(copy->vocab().merges, original.vocab().merges);
  const std::string text = "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～";
  EXPECT_EQ(copy->encode(text, true, true), original.encode(text, true, true));
}

TEST(VocabGguf, OptionalKeysMayBeAbsent) {
  const Vocab v = vocab_from_metadata("minimal", {{"tokenizer.ggml.model", Value(std::string("gpt2"))},
                                                  {"tokenizer.ggml.tokens", strings({"a", "b"})}});
  EXPECT_EQ(v.tokens.size(), 2u);
  EXPECT_TRUE(v.scores.empty());
  EXPECT_TRUE(v.types.empty());
  EXPECT_EQ(v.type(1), TokenType::kNormal);
  EXPECT_EQ(v.bos_id, -1);
  EXPECT_FALSE(v.add_bos.has_value());
}

TEST(VocabGguf, MalformedMetadataFailsNamingTheKey) {
  expect_failure("no-model", "tokenizer.ggml.model", std::nullopt, "tokenizer.ggml.model");
  expect_failure("model-not-string", "tokenizer.ggml.model", Value(uint32_t{3}), "tokenizer.ggml.model");
  expect_failure("no-tokens", "tokenizer.ggml.tokens", std::nullopt, "tokenizer.ggml.tokens");
  expect_failure("tokens-not-strings", "tokenizer.ggml.tokens", numbers<int32_t>(ValueType::INT32, {1, 2, 3}),
                 "tokenizer.ggml.tokens");
  expect_failure("tokens-empty", "tokenizer.ggml.tokens", strings({}), "tokenizer.ggml.tokens");
  expect_failure("scores-short", "tokenizer.ggml.scores", numbers<float>(ValueType::FLOAT32, {0.0f}),
                 "tokenizer.ggml.scores");
  expect_failure("scores-strings", "tokenizer.ggml.scores", strings({"a", "b", "c"}), "tokenizer.ggml.scores");
  expect_failure("types-long", "tokenizer.ggml.token_type", numbers<int32_t>(ValueType::INT32, {1, 1, 1, 1}),
                 "tokenizer.ggml.token_type");
  expect_failure("types-unknown", "tokenizer.ggml.token_type", numbers<int32_t>(ValueType::INT32, {1, 9, 1}),
                 "tokenizer.ggml.token_type");
  expect_failure("bos-out-of-range", "tokenizer.ggml.bos_token_id", Value(uint32_t{3}), "tokenizer.ggml.bos_token_id");
  expect_failure("eos-not-integer", "tokenizer.ggml.eos_token_id", Value(std::string("2")),
                 "tokenizer.ggml.eos_token_id");
  expect_failure("merge-without-space", "tokenizer.ggml.merges", strings({"ab"}), "tokenizer.ggml.merges");
  expect_failure("add-bos-not-bool", "tokenizer.ggml.add_bos_token", Value(uint32_t{1}),
                 "tokenizer.ggml.add_bos_token");
}

TEST(VocabGguf, UnknownModelOrPreTokenizerFailsAtCreate) {
  Vocab v = small_vocab();
  v.model = "rwkv";
  try {
    Tokenizer::create(v);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'rwkv'"), std::string::npos) << e.what();
  }
  v.model = "gpt2";
  v.pre = "deepseek-coder";
  try {
    Tokenizer::create(v);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'deepseek-coder'"), std::string::npos) << e.what();
  }
}

TEST(VocabGguf, InconsistentVocabFailsAtCreate) {
  Vocab v = small_vocab();
  v.scores.pop_back();
  EXPECT_THROW(Tokenizer::create(v), Error);
  v = small_vocab();
  v.eos_id = 7;
  EXPECT_THROW(Tokenizer::create(v), Error);
}

}  // namespace
}  // namespace trit::tokenizer
