// Vocab from a Hugging Face tokenizer.json (+ tokenizer_config.json): byte-level BPE (GPT-2, LLaMA-3,
// Qwen2 pre-tokenizers) or SentencePiece-style BPE with byte fallback (LLaMA-2, Gemma).
#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "runtime/error.h"
#include "tokenizer/vocab.h"

namespace trit::tokenizer {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kWhere = "tokenizer.json";
constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581

// The pre-tokenizer regexes trit implements, as tokenizer.json spells them.
constexpr std::string_view kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

Json parse(const std::string& text, std::string_view what) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    fail("{}: not valid JSON: {}", what, e.what());
  }
}

// Every object of the given "type" in a pre_tokenizer / normalizer / decoder tree ("Sequence"s nest).
void collect(const Json& node, std::string_view type, std::vector<const Json*>& out) {
  if (node.is_array()) {
    for (const Json& item : node) collect(item, type, out);
    return;
  }
  if (!node.is_object()) return;
  if (auto t = node.find("type"); t != node.end() && t->is_string() && *t == type) out.push_back(&node);
  for (const char* key : {"pretokenizers", "normalizers", "decoders", "processors"}) {
    if (auto it = node.find(key); it != node.end()) collect(*it, type, out);
  }
}

std::vector<const Json*> find_all(const Json& root, const char* section, std::string_view type) {
  std::vector<const Json*> out;
  if (auto it = root.find(section); it != root.end()) collect(*it, type, out);
  return out;
}

// A special-token entry of tokenizer_config.json: a string, or an object with "content".
std::optional<std::string> config_token(const Json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}

std::string pre_tokenizer_name(const Json& root) {
  for (const Json* split : find_all(root, "pre_tokenizer", "Split")) {
    const Json& pattern = (*split)["pattern"];
    if (!pattern.is_object() || !pattern.contains("Regex") || !pattern["Regex"].is_string()) continue;
    const std::string regex = pattern["Regex"];
    if (regex == kLlama3Regex) return "llama-bpe";
    if (regex == kQwen2Regex) return "qwen2";
    if (regex == kGpt2Regex) return "gpt-2";
    fail("{}: pre-tokenizer regex '{}' is not one trit implements (GPT-2, LLaMA-3, Qwen2)", kWhere, regex);
  }
  for (const Json* byte_level : find_all(root, "pre_tokenizer", "ByteLevel")) {
    if (byte_level->value("use_regex", true)) return "gpt-2";
  }
  fail("{}: byte-level BPE without a pre-tokenizer regex is not supported", kWhere);
}

std::string merge_text(const Json& merge, size_t rank) {
  if (merge.is_string()) return merge.get<std::string>();
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string())
    return merge[0].get<std::string>() + " " + merge[1].get<std::string>();
  fail("{}: model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", kWhere, rank);
}

bool is_byte_token(std::string_view text) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return text.size() == 6 && text.starts_with("<0x") && hex(text[3]) && hex(text[4]) && text[5] == '>';
}

}  // namespace

Vocab Vocab::from_tokenizer_json(const std::string& tokenizer_json, const std::string& tokenizer_config_json) {
  const Json root = parse(tokenizer_json, kWhere);
  const Json config =
      tokenizer_config_json.empty() ? Json::object() : parse(tokenizer_config_json, "tokenizer_config.json");
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object())
    fail("{}: no \"model\" object", kWhere);
  const Json& model = root["model"];
  const std::string type = model.value("type", "BPE");
  if (type != "BPE") fail("{}: model type '{}' is not supported (trit reads BPE models)", kWhere, type);
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail("{}: model.vocab is not an object", kWhere);

  // Ids: the model's vocab plus added tokens, which may extend it.
  std::map<int64_t, std::string> by_id;
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) fail("{}: model.vocab['{}'] is not an integer id", kWhere, text);
    by_id[id.get<int64_t>()] = text;
  }
  struct Added {
    int64_t id;
    std::string content;
    bool special;
  };
  std::vector<Added> added;
  if (auto it = root.find("added_tokens"); it != root.end() && it->is_array()) {
    for (const Json& t : *it) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
          !t["content"].is_string())
        fail("{}: an added_tokens entry lacks an integer \"id\" or a string \"content\"", kWhere);
      added.push_back({t["id"].get<int64_t>(), t["content"].get<std::string>(), t.value("special", false)});
      by_id[added.back().id] = added.back().content;
    }
  }
  if (by_id.empty()) fail("{}: the vocabulary is empty", kWhere);
  if (by_id.begin()->first < 0 || by_id.rbegin()->first >= std::numeric_limits<int32_t>::max())
    fail("{}: token ids run from {} to {}, outside 0..2^31-2", kWhere, by_id.begin()->first, by_id.rbegin()->first);

  Vocab v;
  const auto n = static_cast<size_t>(by_id.rbegin()->first + 1);
  v.tokens.resize(n);
  v.types.assign(n, TokenType::kNormal);
  for (size_t i = 0; i < n; ++i) {
    if (auto it = by_id.find(static_cast<int64_t>(i)); it != by_id.end()) {
      v.tokens[i] = it->second;
    } else {  // a hole in the ids: a placeholder nothing can produce
      v.tokens[i] = "[PAD" + std::to_string(i) + "]";
      v.types[i] = TokenType::kUnused;
    }
  }

  const bool byte_level =
      !find_all(root, "pre_tokenizer", "ByteLevel").empty() || !find_all(root, "decoder", "ByteLevel").empty();
  if (byte_level) {
    v.model = "gpt2";
    v.pre = pre_tokenizer_name(root);
  } else {
    v.model = "llama";
    v.pre = "default";
    bool prefix = false;
    for (const Json* p : find_all(root, "normalizer", "Prepend")) prefix |= p->value("prepend", "") == kSpaceMark;
    for (const Json* m : find_all(root, "pre_tokenizer", "Metaspace"))
      prefix |= m->value("add_prefix_space", false) || m->value("prepend_scheme", "never") != "never";
    v.add_space_prefix = prefix;
    if (model.value("byte_fallback", false)) {
      for (size_t i = 0; i < n; ++i)
        if (is_byte_token(v.tokens[i])) v.types[i] = TokenType::kByte;
    }
    if (auto unk = model.find("unk_token"); unk != model.end() && unk->is_string()) {
      for (size_t i = 0; i < n; ++i)
        if (v.tokens[i] == unk->get<std::string>()) v.types[i] = TokenType::kUnknown;
    }
  }
  for (const Added& a : added) {
    if (v.types[a.id] == TokenType::kUnknown) continue;
    v.types[a.id] = a.special ? TokenType::kControl : TokenType::kUserDefined;
  }

  if (auto merges = model.find("merges"); merges != model.end()) {
    if (!merges->is_array()) fail("{}: model.merges is not an array", kWhere);
    v.merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) v.merges.push_back(merge_text((*merges)[i], i));
  }
  if (v.model == "llama") {
    // SentencePiece-style encoding merges by score: a piece scores minus the rank of the first merge
    // that forms it, so the best-ranked merge goes first as in the BPE model; pieces no merge forms
    // score below all of them.
    std::unordered_map<std::string_view, size_t> id_of;
    for (size_t i = 0; i < n; ++i) id_of.emplace(v.tokens[i], i);
    v.scores.assign(n, -static_cast<float>(v.merges.size() + 1));
    std::string joined;
    for (size_t rank = v.merges.size(); rank-- > 0;) {
      const std::string& m = v.merges[rank];
      const size_t space = m.find(' ', 1);
      if (space == std::string::npos) continue;
      joined.assign(m, 0, space);
      joined.append(m, space + 1);
      if (auto it = id_of.find(joined); it != id_of.end()) v.scores[it->second] = -static_cast<float>(rank);
    }
    v.merges.clear();  // GGUF keeps no merges for SentencePiece-style vocabularies
  }

  // Special ids: tokenizer_config.json names them; otherwise the usual texts.
  auto id_of_text = [&](const std::string& text) -> int32_t {
    auto it = std::find(v.tokens.begin(), v.tokens.end(), text);
    return it == v.tokens.end() ? -1 : static_cast<int32_t>(it - v.tokens.begin());
  };
  auto first_present = [&](std::initializer_list<const char*> texts) -> int32_t {
    for (const char* t : texts)
      if (int32_t id = id_of_text(t); id >= 0) return id;
    return -1;
  };
  auto from_config = [&](const char* key, std::initializer_list<const char*> fallback) -> int32_t {
    if (config.contains(key)) {
      const auto text = config_token(config, key);
      return text ? id_of_text(*text) : -1;  // null: the model has none
    }
    return first_present(fallback);
  };
  v.bos_id = from_config("bos_token", {"<s>", "<bos>", "<|begin_of_text|>"});
  v.eos_id = from_config("eos_token", {"</s>", "<eos>", "<|end_of_text|>", "<|endoftext|>"});
  v.unk_id = from_config("unk_token", {"<unk>"});
  v.pad_id = from_config("pad_token", {"<pad>"});
  if (const int32_t eot = first_present({"<|eot_id|>", "<end_of_turn>", "<|im_end|>"}); eot >= 0 && eot != v.eos_id)
    v.eot_id = eot;
  if (const int32_t eom = first_present({"<|eom_id|>"}); eom >= 0) v.eom_id = eom;
  if (auto it = config.find("add_bos_token"); it != config.end() && it->is_boolean()) v.add_bos = it->get<bool>();
  if (auto it = config.find("add_eos_token"); it != config.end() && it->is_boolean()) v.add_eos = it->get<bool>();
  if (!v.add_bos && v.model == "llama") {
    // A TemplateProcessing post-processor that starts with the BOS token adds it.
    for (const Json* t : find_all(root, "post_processor", "TemplateProcessing")) {
      const Json& single = (*t)["single"];
      v.add_bos = single.is_array() && !single.empty() && single[0].contains("SpecialToken");
    }
  }
  if (auto it = config.find("chat_template"); it != config.end()) {
    if (it->is_string()) {
      v.chat_template = it->get<std::string>();
    } else if (it->is_array()) {  // [{"name": "default", "template": "..."}, ...]
      for (const Json& t : *it)
        if (t.is_object() && t.value("name", "") == "default" && t.contains("template") && t["template"].is_string())
          v.chat_template = t["template"].get<std::string>();
    }
  }
  return v;
}

}  // namespace trit::tokenizer
