// The non-weight files of a Hugging Face model folder: the tokenizer (tokenizer.json,
// tokenizer.model, *.tiktoken, with tokenizer_config.json / added_tokens.json / chat_template.jinja)
// and generation_config.json, turned into the GGUF tokenizer section.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "tokenizer/vocab.h"

namespace trit::convert {

// Whole file as text; throws trit::Error naming the path.
std::string read_text_file(const std::filesystem::path& path);

// The folder's vocabulary, from the first present of tokenizer.json (+ tokenizer_config.json),
// tokenizer.model (SentencePiece, + added_tokens.json and tokenizer_config.json's special tokens and
// chat template) and tokenizer.model.tiktoken / *.tiktoken. Padded to n_vocab (the model's
// embedding rows) with unused "[PAD{id}]" tokens as llama.cpp's converter does. Throws trit::Error
// when the folder has no tokenizer or the tokenizer has more tokens than the model.
tokenizer::Vocab load_hf_vocab(const std::filesystem::path& dir, int64_t n_vocab);

}  // namespace trit::convert
