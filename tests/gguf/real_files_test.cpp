// The Reader on real GGUF files made by llama.cpp (the tokenizer test vocabularies in ../shared/data).
#include <gtest/gtest.h>

#include <string>

#include "gguf/reader.h"
#include "support/test_data.h"

namespace trit::gguf {
namespace {

Reader open_vocab(const std::string& name) {
  return Reader::open((trit::testing::shared_data_dir() / "tokenizers" / "vectors" / name).string());
}

TEST(GgufRealFiles, LlamaSpmVocab) {
  TRIT_REQUIRE_SHARED_DATA();
  const auto r = open_vocab("ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.alignment(), 32u);
  EXPECT_TRUE(r.tensors().empty());
  EXPECT_EQ(r.metadata().size(), 22u);
  EXPECT_EQ(r.get_string("general.architecture"), "llama");
  EXPECT_EQ(r.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(r.get_string("tokenizer.ggml.pre"), "default");
  EXPECT_EQ(r.get_int("llama.block_count"), 32);
  EXPECT_FLOAT_EQ(static_cast<float>(r.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  const Array& tokens = r.get_array("tokenizer.ggml.tokens");
  EXPECT_EQ(tokens.element_type, ValueType::STRING);
  ASSERT_EQ(tokens.items.size(), 32000u);
  EXPECT_EQ(*tokens.items[0].as_string(), "<unk>");
  EXPECT_EQ(*tokens.items[1].as_string(), "<s>");
  EXPECT_EQ(*tokens.items[2].as_string(), "</s>");
  EXPECT_EQ(*tokens.items[3].as_string(), "<0x00>");
  EXPECT_EQ(r.get_array("tokenizer.ggml.scores").element_type, ValueType::FLOAT32);
  EXPECT_EQ(r.get_array("tokenizer.ggml.scores").items.size(), 32000u);
  EXPECT_EQ(r.get_array("tokenizer.ggml.token_type").element_type, ValueType::INT32);
  EXPECT_EQ(r.get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(r.get_int("tokenizer.ggml.eos_token_id"), 2);
  EXPECT_TRUE(r.get_bool("tokenizer.ggml.add_bos_token"));
  EXPECT_FALSE(r.get_bool("tokenizer.ggml.add_eos_token"));
}

TEST(GgufRealFiles, Gpt2Vocab) {
  TRIT_REQUIRE_SHARED_DATA();
  const auto r = open_vocab("ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.metadata().size(), 16u);
  EXPECT_EQ(r.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(r.get_string("tokenizer.ggml.pre"), "gpt-2");
  const Array& tokens = r.get_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.items.size(), 50257u);
  EXPECT_EQ(*tokens.items[0].as_string(), "!");
  EXPECT_EQ(*tokens.items[50256].as_string(), "<|endoftext|>");
  const Array& merges = r.get_array("tokenizer.ggml.merges");
  ASSERT_EQ(merges.items.size(), 50000u);
  EXPECT_EQ(*merges.items[0].as_string(), "\xC4\xA0 t");  // "Ġ t"
  EXPECT_EQ(r.get_int("tokenizer.ggml.bos_token_id"), 50256);
  EXPECT_EQ(r.find("tokenizer.ggml.scores"), nullptr);
}

TEST(GgufRealFiles, Phi3Vocab) {
  TRIT_REQUIRE_SHARED_DATA();
  const auto r = open_vocab("ggml-vocab-phi-3.gguf");
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.metadata().size(), 26u);
  EXPECT_EQ(r.get_string("general.architecture"), "phi3");
  EXPECT_EQ(r.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(r.get_array("tokenizer.ggml.tokens").items.size(), 32064u);
  EXPECT_EQ(r.get_int("tokenizer.ggml.eos_token_id"), 32000);
  EXPECT_EQ(r.get_int("tokenizer.ggml.padding_token_id"), 32000);
  EXPECT_EQ(r.get_string("tokenizer.chat_template").rfind("{{ bos_token }}", 0), 0u);
  EXPECT_EQ(r.get_int("general.quantization_version"), 2);
}

}  // namespace
}  // namespace trit::gguf
