// Tokenizer files of a Hugging Face folder -> tokenizer::Vocab, with the special tokens and chat
// template tokenizer_config.json adds and the padding the model's vocabulary size asks for.
#include "convert/hf_folder.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace trit::convert {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using tokenizer::TokenType;
using tokenizer::Vocab;

Json parse_json(const fs::path& path) {
  try {
    return Json::parse(read_text_file(path));
  } catch (const Json::exception& e) {
    fail("{}: not valid JSON: {}", path.string(), e.what());
  }
}

std::optional<std::string> token_text(const Json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}

int32_t find_id(const Vocab& v, const std::string& text) {
  auto it = std::find(v.tokens.begin(), v.tokens.end(), text);
  return it == v.tokens.end() ? -1 : static_cast<int32_t>(it - v.tokens.begin());
}

// tokenizer.model: the SentencePiece vocabulary, then added_tokens.json / tokenizer_config.json's
// added_tokens_decoder at their ids, and the special tokens tokenizer_config.json names.
Vocab sentencepiece_vocab(const fs::path& dir) {
  Vocab v = Vocab::from_sentencepiece_model((dir / "tokenizer.model").string());
  auto put = [&](int64_t id, const std::string& text, bool special) {
    if (id < 0 || id > (int64_t{1} << 24)) fail("{}: added token '{}' has id {}", dir.string(), text, id);
    while (v.n_tokens() <= id) {
      v.tokens.push_back(fmt::format("[PAD{}]", v.n_tokens()));
      if (!v.scores.empty()) v.scores.push_back(0.0f);
      if (!v.types.empty()) v.types.push_back(TokenType::kUnused);
    }
    if (id < static_cast<int64_t>(v.tokens.size()) && v.tokens[id] == text) return;  // already there
    v.tokens[id] = text;
    if (!v.scores.empty()) v.scores[id] = 0.0f;
    if (v.types.empty()) v.types.assign(v.tokens.size(), TokenType::kNormal);
    v.types[id] = special ? TokenType::kControl : TokenType::kUserDefined;
  };
  Json config = Json::object();
  if (fs::exists(dir / "tokenizer_config.json")) config = parse_json(dir / "tokenizer_config.json");
  if (fs::exists(dir / "added_tokens.json")) {
    const Json added = parse_json(dir / "added_tokens.json");
    std::vector<std::pair<int64_t, std::string>> sorted;
    for (auto it = added.begin(); it != added.end(); ++it)
      if (it->is_number_integer()) sorted.emplace_back(it->get<int64_t>(), it.key());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [id, text] : sorted) put(id, text, true);
  }
  if (auto it = config.find("added_tokens_decoder"); it != config.end() && it->is_object()) {
    for (auto t = it->begin(); t != it->end(); ++t) {
      if (!t->is_object() || !t->contains("content") || !(*t)["content"].is_string()) continue;
      int64_t id = -1;
      try {
        id = std::stoll(t.key());
      } catch (const std::exception&) {
        fail("{}: added_tokens_decoder key '{}' is not an id", (dir / "tokenizer_config.json").string(), t.key());
      }
      put(id, (*t)["content"].get<std::string>(), t->value("special", true));
    }
  }
  auto special = [&](const char* key, int32_t& id) {
    if (auto text = token_text(config, key))
      if (int32_t found = find_id(v, *text); found >= 0) id = found;
  };
  special("bos_token", v.bos_id);
  special("eos_token", v.eos_id);
  special("unk_token", v.unk_id);
  special("pad_token", v.pad_id);
  if (auto it = config.find("add_bos_token"); it != config.end() && it->is_boolean()) v.add_bos = it->get<bool>();
  if (auto it = config.find("add_eos_token"); it != config.end() && it->is_boolean()) v.add_eos = it->get<bool>();
  if (auto it = config.find("chat_template"); it != config.end() && it->is_string())
    v.chat_template = it->get<std::string>();
  return v;
}

}  // namespace

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read the file", path.string());
  return {std::istreambuf_iterator<char>(in), {}};
}

Vocab load_hf_vocab(const fs::path& dir, int64_t n_vocab) {
  Vocab v;
  std::string source;
  if (fs::exists(dir / "tokenizer.json")) {
    source = "tokenizer.json";
    const fs::path config = dir / "tokenizer_config.json";
    try {
      v = Vocab::from_tokenizer_json(read_text_file(dir / "tokenizer.json"),
                                     fs::exists(config) ? read_text_file(config) : "");
    } catch (const Error& e) {
      fail("{}: {}", dir.string(), e.what());
    }
  } else if (fs::exists(dir / "tokenizer.model")) {
    source = "tokenizer.model";
    v = sentencepiece_vocab(dir);
  } else {
    fs::path tiktoken;
    if (fs::exists(dir / "tokenizer.model.tiktoken")) {
      tiktoken = dir / "tokenizer.model.tiktoken";
    } else {
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".tiktoken") tiktoken = e.path();
    }
    if (tiktoken.empty())
      fail("{}: no tokenizer (tokenizer.json, tokenizer.model or *.tiktoken); trit needs one to write a usable model",
           dir.string());
    source = tiktoken.filename().string();
    v = Vocab::from_tiktoken(tiktoken.string());
  }
  // A chat template in its own file (newer transformers) when tokenizer_config.json has none.
  if (!v.chat_template && fs::exists(dir / "chat_template.jinja"))
    v.chat_template = read_text_file(dir / "chat_template.jinja");

  // generation_config.json fills in ids the tokenizer files leave out (never overrides them: 1bitLLM's
  // says bos 0, which is <unk>). A list of EOS ids (LLaMA-3-Instruct) gives EOS and then EOT.
  if (fs::exists(dir / "generation_config.json")) {
    const Json g = parse_json(dir / "generation_config.json");
    auto id_in_range = [&](const Json& j) {
      return j.is_number_integer() && j.get<int64_t>() >= 0 && j.get<int64_t>() < v.n_tokens();
    };
    if (auto it = g.find("bos_token_id"); v.bos_id < 0 && it != g.end() && id_in_range(*it))
      v.bos_id = it->get<int32_t>();
    if (auto it = g.find("eos_token_id"); it != g.end()) {
      std::vector<int32_t> ids;
      if (id_in_range(*it)) ids.push_back(it->get<int32_t>());
      if (it->is_array())
        for (const Json& e : *it)
          if (id_in_range(e)) ids.push_back(e.get<int32_t>());
      if (v.eos_id < 0 && !ids.empty()) v.eos_id = ids.front();
      for (int32_t id : ids)
        if (v.eot_id < 0 && id != v.eos_id) v.eot_id = id;
    }
  }

  if (v.n_tokens() > n_vocab)
    fail("{}: {} has {} tokens but the model's vocab_size is {}", dir.string(), source, v.n_tokens(), n_vocab);
  // Pad to the embedding's rows, as llama.cpp's converter does.
  while (v.n_tokens() < n_vocab) {
    v.tokens.push_back(fmt::format("[PAD{}]", v.n_tokens()));
    if (!v.scores.empty()) v.scores.push_back(-1000.0f);
    if (v.types.empty()) v.types.assign(v.tokens.size() - 1, TokenType::kNormal);
    v.types.push_back(TokenType::kUnused);
  }
  return v;
}

}  // namespace trit::convert
