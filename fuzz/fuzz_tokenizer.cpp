// libFuzzer target: encode arbitrary bytes with the LLaMA SentencePiece and GPT-2 byte-level BPE
// vocabularies (../shared/data, or $TRIT_SHARED_DATA), decode back, and stream-decode: ids stay in
// range, decoding gives the input back where the tokenizer is lossless, streamed text is valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "gguf/reader.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#ifndef TRIT_SHARED_DATA
#define TRIT_SHARED_DATA "../shared/data"
#endif

namespace {

using trit::tokenizer::Tokenizer;

std::unique_ptr<Tokenizer> load(const char* name) {
  const char* env = std::getenv("TRIT_SHARED_DATA");
  const std::filesystem::path root = env && *env ? env : TRIT_SHARED_DATA;
  const auto path = root / "tokenizers/vectors" / (std::string("ggml-vocab-") + name + ".gguf");
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "fuzz_tokenizer: %s is missing; set TRIT_SHARED_DATA to the shared data directory\n",
                 path.c_str());
    std::abort();
  }
  auto reader = trit::gguf::Reader::open(path.string());
  return Tokenizer::create(trit::tokenizer::Vocab::from_gguf(reader));
}

bool valid_utf8(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    const auto c = trit::tokenizer::utf8_decode(s, pos);
    if (c.codepoint == trit::tokenizer::kInvalidCodepoint) return false;
    pos += c.n_bytes;
  }
  return true;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_tokenizer: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<Tokenizer> spm = load("llama-spm");
  static const std::unique_ptr<Tokenizer> bpe = load("gpt-2");
  if (size == 0) return 0;
  // First byte: which tokenizer, add_special, parse_special; the rest is the text.
  const uint8_t flags = data[0];
  const Tokenizer& tok = (flags & 1) ? *bpe : *spm;
  const bool add_special = flags & 2, parse_special = flags & 4;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  const auto ids = tok.encode(text, add_special, parse_special);
  for (int32_t id : ids) check(id >= 0 && id < tok.n_tokens(), "id out of range");

  // Byte-level BPE keeps every byte; SentencePiece does too unless the text holds U+2581 (its space
  // mark) or special tokens (each followed by a prefix space).
  const bool lossless = (flags & 1) || (!parse_special && text.find("\xE2\x96\x81") == std::string_view::npos);
  // Special tokens parsed out of the text render as their text; an added BOS renders as nothing.
  const bool render_special = parse_special;
  const std::string decoded = tok.decode(ids, render_special);
  if (lossless) check(decoded == text, "decode(encode(x)) != x");

  trit::tokenizer::StreamDecoder stream(tok, render_special, /*remove_leading_space=*/true);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string chunk = stream.push(id);
    check(valid_utf8(chunk), "stream chunk is not valid UTF-8");
    streamed += chunk;
  }
  streamed += stream.flush();
  check(valid_utf8(streamed), "streamed text is not valid UTF-8");
  if (valid_utf8(decoded)) check(streamed == decoded, "streamed text differs from decode()");
  return 0;
}
