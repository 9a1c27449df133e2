// Known chat formats, rendered by hand; each follows the Jinja template its models ship with.
#include "tokenizer/chat_template.h"

#include "runtime/error.h"

namespace trit::tokenizer {
namespace {

bool has(std::string_view s, std::string_view marker) { return s.find(marker) != std::string_view::npos; }

}  // namespace

std::optional<ChatFormat> detect_chat_format(std::string_view t) {
  if (has(t, "<|start_header_id|>")) return ChatFormat::kLlama3;
  if (has(t, "<|im_start|>")) return ChatFormat::kChatml;
  if (has(t, "'Assistant: '") || has(t, "\"Assistant: \"")) return ChatFormat::kBitnet;
  if (has(t, "<|assistant|>") && has(t, "<|user|>")) return ChatFormat::kFalcon3;
  if (has(t, "[INST]")) return ChatFormat::kLlama2;
  return std::nullopt;
}

std::string_view chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::kBitnet:
      return "bitnet";
    case ChatFormat::kLlama3:
      return "llama3";
    case ChatFormat::kLlama2:
      return "llama2";
    case ChatFormat::kChatml:
      return "chatml";
    case ChatFormat::kFalcon3:
      return "falcon3";
  }
  return "?";
}

ChatFormat parse_chat_format(std::string_view name) {
  for (ChatFormat f :
       {ChatFormat::kBitnet, ChatFormat::kLlama3, ChatFormat::kLlama2, ChatFormat::kChatml, ChatFormat::kFalcon3})
    if (name == chat_format_name(f)) return f;
  trit::fail("unknown chat format '{}' (known: bitnet, llama3, llama2, chatml, falcon3)", name);
}

std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        std::string_view bos) {
  for (const auto& m : messages)
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      trit::fail("chat message role '{}' is not one of system, user, assistant", m.role);
  std::string out(bos);
  switch (format) {
    case ChatFormat::kBitnet:
      for (const auto& m : messages) {
        const char* label = m.role == "system" ? "System: " : m.role == "user" ? "User: " : "Assistant: ";
        out += label + m.content + "<|eot_id|>";
      }
      if (add_generation_prompt) out += "Assistant: ";
      break;
    case ChatFormat::kLlama3:
      for (const auto& m : messages)
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatFormat::kChatml:
      for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatFormat::kFalcon3:
      for (const auto& m : messages) out += "<|" + m.role + "|>\n" + m.content + "\n";
      if (add_generation_prompt) out += "<|assistant|>\n";
      break;
    case ChatFormat::kLlama2: {
      // [INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST] assistant</s><s>[INST] user [/INST]
      std::string system;
      bool first_user = true;
      for (const auto& m : messages) {
        if (m.role == "system") {
          system = m.content;
        } else if (m.role == "user") {
          if (!first_user) out += std::string(bos);
          out += "[INST] ";
          if (!system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n", system.clear();
          out += m.content + " [/INST]";
          first_user = false;
        } else {
          out += " " + m.content + "</s>";
        }
      }
      break;
    }
  }
  return out;
}

ChatFormat chat_format_for(const std::optional<std::string>& jinja_template) {
  if (!jinja_template) return ChatFormat::kBitnet;
  return detect_chat_format(*jinja_template).value_or(ChatFormat::kBitnet);
}

}  // namespace trit::tokenizer
