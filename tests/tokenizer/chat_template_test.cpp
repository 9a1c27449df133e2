// Chat formats: detection from real Jinja templates and the exact prompt text each renders.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "support/test_data.h"

namespace trit::tokenizer {
namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "How are you?"}};

TEST(ChatTemplate, BitnetFormatMatches2B4TTemplate) {
  EXPECT_EQ(render_chat(ChatFormat::kBitnet, {{"user", "How are you?"}}, true, "<|begin_of_text|>"),
            "<|begin_of_text|>User: How are you?<|eot_id|>Assistant: ");
  EXPECT_EQ(render_chat(ChatFormat::kBitnet, kConversation, true, ""),
            "System: Be brief.<|eot_id|>User: Hi<|eot_id|>Assistant: Hello.<|eot_id|>User: How are you?<|eot_id|>"
            "Assistant: ");
}

TEST(ChatTemplate, Llama3AndChatml) {
  EXPECT_EQ(
      render_chat(ChatFormat::kLlama3, {{"user", "Hi"}}, true, ""),
      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(ChatFormat::kChatml, {{"system", "S"}, {"user", "Hi"}}, true, ""),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(ChatFormat::kChatml, {{"user", "Hi"}}, false, ""), "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplate, Llama2PutsTheSystemPromptInTheFirstInstruction) {
  EXPECT_EQ(render_chat(ChatFormat::kLlama2, kConversation, true, "<s>"),
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello.</s><s>[INST] How are you? [/INST]");
}

TEST(ChatTemplate, DetectsFormatsByTheirMarkers) {
  EXPECT_EQ(detect_chat_format("{{ '<|start_header_id|>' + message['role'] }}"), ChatFormat::kLlama3);
  EXPECT_EQ(detect_chat_format("{{ '<|im_start|>' }}"), ChatFormat::kChatml);
  EXPECT_EQ(detect_chat_format("{{ 'User: ' + content }}{{ 'Assistant: ' }}"), ChatFormat::kBitnet);
  EXPECT_EQ(detect_chat_format("[INST] {{ x }}"), ChatFormat::kLlama2);
  EXPECT_EQ(detect_chat_format("<|user|>\n{{ x }}<|assistant|>"), ChatFormat::kFalcon3);
  EXPECT_EQ(detect_chat_format("{{ nothing known }}"), std::nullopt);
}

TEST(ChatTemplate, RealLlama3TemplateIsDetected) {
  TRIT_REQUIRE_SHARED_DATA();
  std::ifstream in(testing::shared_data_dir() / "tokenizers/llama3/tokenizer_config.json");
  const auto config = nlohmann::json::parse(in);
  EXPECT_EQ(detect_chat_format(config.at("chat_template").get<std::string>()), ChatFormat::kLlama3);
}

TEST(ChatTemplate, UnknownRolesAndFormatsAreErrors) {
  EXPECT_THROW(render_chat(ChatFormat::kBitnet, {{"tool", "x"}}, true, ""), Error);
  EXPECT_THROW(parse_chat_format("jinja"), Error);
  EXPECT_EQ(parse_chat_format("falcon3"), ChatFormat::kFalcon3);
}

}  // namespace
}  // namespace trit::tokenizer
