// Chat prompts: the conversation formats trit knows, recognised from a model's Jinja chat template
// (tokenizer.chat_template) by their markers, as llama.cpp does, and rendered without a Jinja engine.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trit::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

enum class ChatFormat {
  kBitnet,   // BitNet-b1.58-2B-4T: "System: ...<|eot_id|>User: ...<|eot_id|>Assistant: "
  kLlama3,   // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
  kLlama2,   // [INST] <<SYS>>...<</SYS>> ... [/INST]
  kChatml,   // <|im_start|>role\n...<|im_end|>\n
  kFalcon3,  // <|system|>\n...\n<|user|>\n...\n<|assistant|>\n
};

// The format a Jinja template is written for; nullopt when no known marker is found.
std::optional<ChatFormat> detect_chat_format(std::string_view jinja_template);
// The format for a model: its template's, or BitNet's when it has none or an unknown one.
ChatFormat chat_format_for(const std::optional<std::string>& jinja_template);
// "bitnet", "llama3", ... and back; parse throws trit::Error listing the names.
std::string_view chat_format_name(ChatFormat format);
ChatFormat parse_chat_format(std::string_view name);

// The prompt text for `messages`, ending with the assistant's turn opened when add_generation_prompt.
// `bos` is the BOS token's text, written where the format puts it ("" when the tokenizer adds it).
std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        std::string_view bos);

}  // namespace trit::tokenizer
