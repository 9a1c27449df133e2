// BPE training: the reference merges and vocabulary of the CS336 oracle reproduced exactly, tie-breaking
// and special tokens on tiny corpora, and trained tokenizers that round-trip text through trit's Tokenizer.
#include "train/bpe_trainer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/error.h"
#include "support/test_data.h"
#include "tokenizer/tokenizer.h"

namespace trit::train {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

BpeTrainResult train(std::string_view text, int32_t vocab_size, std::vector<std::string> specials = {}) {
  BpeTrainOptions o;
  o.vocab_size = vocab_size;
  o.special_tokens = std::move(specials);
  o.n_threads = 2;
  return train_bpe(text, o);
}

TEST(BpeTrainer, ReproducesTheReferenceMergesAndVocabOnCorpusEn) {
  TRIT_REQUIRE_SHARED_DATA();
  const auto dir = testing::shared_data_dir() / "corpora" / "bpe-training";
  const std::string corpus = read_file(dir / "corpus.en");
  const auto start = std::chrono::steady_clock::now();
  const BpeTrainResult r = train(corpus, 500, {"<|endoftext|>"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("trained corpus.en (%zu bytes, vocab 500) in %.4f s\n", corpus.size(), seconds);

  const std::vector<std::string> expected_merges = lines(read_file(dir / "train-bpe-reference-merges.txt"));
  const std::vector<std::string> merges = lines(to_merges_txt(r));
  ASSERT_EQ(merges.size(), expected_merges.size());
  for (size_t k = 0; k < merges.size(); ++k) ASSERT_EQ(merges[k], expected_merges[k]) << "merge " << k;

  const auto expected_vocab = nlohmann::json::parse(read_file(dir / "train-bpe-reference-vocab.json"));
  const auto vocab = nlohmann::json::parse(to_vocab_json(r));
  ASSERT_EQ(vocab.size(), 500u);
  EXPECT_EQ(vocab, expected_vocab);
}

TEST(BpeTrainer, TiesGoToTheLexicographicallyGreaterPair) {
  // Pre-tokens "ab", " cd", " ab", " cd": (a,b), (c,d) and (" ",c) occur twice each; (c,d) is the greatest.
  const BpeTrainResult r = train("ab cd ab cd", 256 + 2);
  ASSERT_EQ(r.merges.size(), 2u);
  EXPECT_EQ(r.tokens[r.merges[0].first], "c");
  EXPECT_EQ(r.tokens[r.merges[0].second], "d");
  EXPECT_EQ(r.tokens[256], "cd");
  // Then (a,b) and (" ",cd) tie at two: "a" > " ".
  EXPECT_EQ(r.tokens[257], "ab");
}

TEST(BpeTrainer, ComparesPairsAsUnsignedBytes) {
  // "\xC3\xA9" (é) beats "zz" at equal counts: 0xC3 > 'z' as an unsigned byte.
  const BpeTrainResult r = train("zz \xC3\xA9", 257);
  ASSERT_EQ(r.merges.size(), 1u);
  EXPECT_EQ(r.tokens[256], "\xC3\xA9");
}

TEST(BpeTrainer, SpecialTokensAreSplitOutAndNeverMerged) {
  const std::string text = "aa<|endoftext|>aa<|endoftext|>aa<|endoftext|>";
  const BpeTrainResult r = train(text, 1 + 256 + 10, {"<|endoftext|>"});
  EXPECT_EQ(r.tokens[0], "<|endoftext|>");
  ASSERT_EQ(r.merges.size(), 1u);  // only "aa": nothing else pairs up
  EXPECT_EQ(r.tokens.back(), "aa");
  EXPECT_EQ(r.n_pieces, 3u);
}

TEST(BpeTrainer, StopsWhenNoPairIsLeft) {
  const BpeTrainResult r = train("abc", 1000);
  EXPECT_EQ(r.merges.size(), 2u);  // "ab" or "bc", then "abc"
  EXPECT_EQ(r.tokens.back(), "abc");
}

TEST(BpeTrainer, RejectsAVocabSizeBelowTheBytesAndSpecials) {
  EXPECT_THROW(train("abc", 256, {"<|endoftext|>"}), Error);
  EXPECT_THROW(train("abc", 300, {""}), Error);
}

TEST(BpeTrainer, RepeatedPairsInOneWordMergeLeftToRight) {
  // "aaaa" x1: (a,a) counts 3; merging gives [aa, aa], then (aa, aa) -> aaaa.
  const BpeTrainResult r = train("aaaa", 258);
  ASSERT_EQ(r.merges.size(), 2u);
  EXPECT_EQ(r.tokens[256], "aa");
  EXPECT_EQ(r.tokens[257], "aaaa");
  // "aaa": [aa, a], then (aa, a).
  const BpeTrainResult r3 = train("aaa", 258);
  ASSERT_EQ(r3.merges.size(), 2u);
  EXPECT_EQ(r3.tokens[257], "aaa");
}

TEST(BpeTrainer, ThreadCountDoesNotChangeTheResult) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "the quick brown fox " + std::to_string(i % 97) + " jumps\nover it.\n";
  BpeTrainOptions o;
  o.vocab_size = 400;
  o.special_tokens = {"<|endoftext|>"};
  o.n_threads = 1;
  const BpeTrainResult one = train_bpe(text, o);
  o.n_threads = 4;
  const BpeTrainResult four = train_bpe(text, o);
  EXPECT_EQ(one.tokens, four.tokens);
  EXPECT_EQ(one.merges, four.merges);
  EXPECT_EQ(one.n_pieces, four.n_pieces);
}

TEST(BpeTrainer, CuttingTheTextForThreadsDoesNotChangeThePreTokens) {
  TRIT_REQUIRE_SHARED_DATA();
  // Shakespeare cut every ~200 bytes (at "x\nc" places) vs. in one piece, plus whitespace-heavy text.
  std::string text = read_file(testing::shared_data_dir() / "corpora" / "tinyshakespeare.txt").substr(0, 200000);
  for (int i = 0; i < 2000; ++i) text += "a\n  b\n\nc \n\td\n" + std::to_string(i) + "\n's\n.\n";
  BpeTrainOptions o;
  o.vocab_size = 1000;
  o.n_threads = 3;
  const BpeTrainResult whole = train_bpe(text, o);
  o.chunk_bytes = 200;
  const BpeTrainResult cut = train_bpe(text, o);
  EXPECT_EQ(whole.n_pieces, cut.n_pieces);
  EXPECT_EQ(whole.n_unique_words, cut.n_unique_words);
  EXPECT_EQ(whole.merges, cut.merges);
}

void expect_round_trip(const tokenizer::Tokenizer& tok, const std::string& text) {
  const std::vector<int32_t> ids = tok.encode(text, false, true);
  EXPECT_EQ(tok.decode(ids, true, false), text);
}

TEST(BpeTrainer, TrainedTokenizerRoundTripsTextThroughTrit) {
  TRIT_REQUIRE_SHARED_DATA();
  const std::string corpus = read_file(testing::shared_data_dir() / "corpora" / "tinystories_sample.txt");
  const BpeTrainResult r = train(corpus, 600, {"<|endoftext|>"});
  // Through the Vocab directly and through the written tokenizer.json, as gen-dummy loads it.
  for (tokenizer::Vocab v : {to_vocab(r), tokenizer::Vocab::from_tokenizer_json(to_tokenizer_json(r))}) {
    EXPECT_EQ(v.n_tokens(), static_cast<int32_t>(r.tokens.size()));
    EXPECT_EQ(v.model, "gpt2");
    EXPECT_EQ(v.pre, "gpt-2");
    EXPECT_EQ(v.eos_id, 0);
    auto tok = tokenizer::Tokenizer::create(v);
    expect_round_trip(*tok, corpus);
    expect_round_trip(*tok, "Once upon a time, there was a 🐉 named Zoë.\n\n  Tabs\tand   spaces  \r\n");
    expect_round_trip(*tok, "<|endoftext|>Hello<|endoftext|> world 12345 ¿qué?");
    std::string bytes;
    for (int b = 0; b < 256; ++b) bytes += static_cast<char>(b);
    expect_round_trip(*tok, bytes);
    // The special token is one id; common words become single tokens.
    const std::vector<int32_t> ids = tok->encode("<|endoftext|>", false, true);
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_EQ(ids[0], 0);
    const std::vector<int32_t> once = tok->encode("Once upon a time", false, true);
    EXPECT_LE(once.size(), 4u);
    // Encoding the training text with the learned merges compresses it.
    EXPECT_LT(tok->encode(corpus, false, true).size(), corpus.size() / 2);
  }
}

}  // namespace
}  // namespace trit::train
