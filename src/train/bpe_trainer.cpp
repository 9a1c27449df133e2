// Byte-level BPE training: pre-tokens counted once (in parallel), pair counts kept up to date
// incrementally as each merge rewrites only the words that hold the pair, the best pair taken from a
// max-heap with lazy deletion (an entry is live while its count is still the pair's count).
#include "train/bpe_trainer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <queue>
#include <thread>
#include <unordered_map>

#include "runtime/assert.h"
#include "runtime/error.h"
#include "runtime/progress.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"

namespace trit::train {

namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;     // pre-tokenisation work unit
constexpr size_t kProgressBytes = size_t{8} << 20;  // smaller corpora train too fast for progress bars

// The text split around special tokens (leftmost occurrence first, the longest where several start
// at the same byte): the plain runs between them.
std::vector<std::string_view> split_specials(std::string_view text, const std::vector<std::string>& specials) {
  std::vector<std::string_view> out;
  std::vector<size_t> next(specials.size());  // each special's next occurrence at or after pos
  for (size_t s = 0; s < specials.size(); ++s) next[s] = text.find(specials[s]);
  size_t pos = 0;
  while (true) {
    size_t best = std::string_view::npos, best_len = 0;
    for (size_t s = 0; s < specials.size(); ++s) {
      if (next[s] != std::string_view::npos && next[s] < pos) next[s] = text.find(specials[s], pos);
      if (next[s] == std::string_view::npos) continue;
      if (next[s] < best || (next[s] == best && specials[s].size() > best_len)) {
        best = next[s];
        best_len = specials[s].size();
      }
    }
    if (best == std::string_view::npos) break;
    if (best > pos) out.push_back(text.substr(pos, best - pos));
    pos = best + best_len;
  }
  if (pos < text.size()) out.push_back(text.substr(pos));
  return out;
}

bool is_ascii_graphic(char c) { return c > 0x20 && c < 0x7F; }

// Cuts a run of plain text into pieces of about chunk_bytes at places where the GPT-2 regex splits
// the same way whether or not the text continues: before c in "x\nc" with x and c printable ASCII
// ("\n" is then a piece of its own in both cases).
void cut_chunks(std::string_view text, size_t chunk_bytes, std::vector<std::string_view>& out) {
  while (text.size() > 2 * chunk_bytes) {
    size_t p = std::max<size_t>(chunk_bytes, 2);
    while (p < text.size() && !(is_ascii_graphic(text[p]) && text[p - 1] == '\n' && is_ascii_graphic(text[p - 2]))) ++p;
    if (p >= text.size()) break;
    out.push_back(text.substr(0, p));
    text.remove_prefix(p);
  }
  if (!text.empty()) out.push_back(text);
}

using PieceCounts = std::unordered_map<std::string_view, uint64_t>;

// Counts the pre-tokens of every chunk, with n_threads threads.
PieceCounts count_pieces(const std::vector<std::string_view>& chunks, int n_threads, bool show_progress,
                         uint64_t& n_pieces) {
  uint64_t total_bytes = 0;
  for (auto c : chunks) total_bytes += c.size();
  const size_t n_workers =
      std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(n_threads, 1)), chunks.size()));
  std::vector<PieceCounts> partial(n_workers);
  std::vector<uint64_t> partial_pieces(n_workers, 0);
  std::atomic<size_t> next_chunk{0};
  std::atomic<uint64_t> bytes_done{0};
  auto work = [&](size_t w) {
    for (size_t c; (c = next_chunk.fetch_add(1)) < chunks.size();) {
      for (std::string_view piece : tokenizer::pre_tokenize(tokenizer::PreTokenizer::kGpt2, chunks[c])) {
        ++partial[w][piece];
        ++partial_pieces[w];
      }
      bytes_done += chunks[c].size();
    }
  };
  runtime::ProgressBar bar("pre-tokenizing", total_bytes, runtime::ProgressBar::Unit::kBytes, !show_progress);
  if (n_workers == 1) {
    work(0);
  } else {
    std::vector<std::thread> threads;
    for (size_t w = 0; w < n_workers; ++w) threads.emplace_back(work, w);
    while (bytes_done.load() < total_bytes && show_progress) {
      bar.set(bytes_done.load());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (auto& t : threads) t.join();
  }
  bar.set(total_bytes);
  bar.finish();
  // Merge into the largest map.
  size_t largest = 0;
  for (size_t w = 1; w < n_workers; ++w)
    if (partial[w].size() > partial[largest].size()) largest = w;
  PieceCounts counts = std::move(partial[largest]);
  for (size_t w = 0; w < n_workers; ++w) {
    n_pieces += partial_pieces[w];
    if (w == largest) continue;
    for (const auto& [piece, n] : partial[w]) counts[piece] += n;
    PieceCounts().swap(partial[w]);
  }
  return counts;
}

uint64_t pair_key(int32_t a, int32_t b) { return static_cast<uint64_t>(a) << 32 | static_cast<uint32_t>(b); }

// The byte ids: GPT-2's printable characters sorted by code point.
std::array<int32_t, 256> byte_ids(int32_t first_id) {
  std::array<std::pair<uint32_t, int>, 256> by_char;
  for (int b = 0; b < 256; ++b)
    by_char[b] = {tokenizer::utf8_decode(tokenizer::byte_to_unicode(static_cast<uint8_t>(b)), 0).codepoint, b};
  std::sort(by_char.begin(), by_char.end());
  std::array<int32_t, 256> ids{};
  for (int i = 0; i < 256; ++i) ids[by_char[i].second] = first_id + i;
  return ids;
}

// The distinct pre-tokens as symbol sequences, all in one array; merges shorten them in place.
struct Word {
  uint64_t begin;
  uint32_t size;
  uint64_t count;
};

class Trainer {
 public:
  Trainer(BpeTrainResult& r, const PieceCounts& pieces, const std::array<int32_t, 256>& ids) : r_(r) {
    uint64_t n_symbols = 0;
    for (const auto& [piece, n] : pieces) n_symbols += piece.size();
    symbols_.reserve(n_symbols);
    words_.reserve(pieces.size());
    // A fixed word order (by text) keeps everything deterministic whatever the hash map's order.
    std::vector<std::pair<std::string_view, uint64_t>> sorted(pieces.begin(), pieces.end());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [piece, n] : sorted) {
      words_.push_back({symbols_.size(), static_cast<uint32_t>(piece.size()), n});
      for (char c : piece) symbols_.push_back(ids[static_cast<uint8_t>(c)]);
    }
    for (uint32_t w = 0; w < words_.size(); ++w) {
      const int32_t* s = &symbols_[words_[w].begin];
      for (uint32_t i = 0; i + 1 < words_[w].size; ++i) {
        const uint64_t k = pair_key(s[i], s[i + 1]);
        counts_[k] += static_cast<int64_t>(words_[w].count);
        where_[k].push_back(w);
      }
    }
    std::vector<Entry> entries;
    entries.reserve(counts_.size());
    for (const auto& [k, n] : counts_) entries.push_back({n, static_cast<int32_t>(k >> 32), static_cast<int32_t>(k)});
    heap_ = Heap(EntryLess{&r_.tokens}, std::move(entries));
  }

  // Learns one merge; false when no pair is left.
  bool step() {
    while (!heap_.empty()) {
      const Entry top = heap_.top();
      auto it = counts_.find(pair_key(top.a, top.b));
      if (it != counts_.end() && it->second == top.count) break;
      heap_.pop();  // stale
    }
    if (heap_.empty()) return false;
    const Entry best = heap_.top();
    heap_.pop();
    const auto t = static_cast<int32_t>(r_.tokens.size());
    r_.tokens.push_back(r_.tokens[best.a] + r_.tokens[best.b]);
    r_.merges.emplace_back(best.a, best.b);
    apply(best.a, best.b, t);
    return true;
  }

 private:
  struct Entry {
    int64_t count;
    int32_t a, b;
  };
  // Heap order: count, then the pair's bytes (left, then right) as unsigned byte strings.
  struct EntryLess {
    const std::vector<std::string>* tokens;
    bool operator()(const Entry& x, const Entry& y) const {
      if (x.count != y.count) return x.count < y.count;
      const int c = (*tokens)[x.a].compare((*tokens)[y.a]);
      if (c != 0) return c < 0;
      return (*tokens)[x.b] < (*tokens)[y.b];
    }
  };
  using Heap = std::priority_queue<Entry, std::vector<Entry>, EntryLess>;

  void apply(int32_t a, int32_t b, int32_t t) {
    const uint64_t merged_key = pair_key(a, b);
    std::vector<uint32_t> words = std::move(where_[merged_key]);
    where_.erase(merged_key);
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    delta_.clear();
    for (uint32_t w : words) {
      Word& word = words_[w];
      int32_t* s = &symbols_[word.begin];
      const uint32_t n = word.size;
      bool found = false;
      for (uint32_t i = 0; i + 1 < n && !found; ++i) found = s[i] == a && s[i + 1] == b;
      if (!found) continue;  // an index entry left from before an earlier merge
      const auto c = static_cast<int64_t>(word.count);
      for (uint32_t i = 0; i + 1 < n; ++i) delta_[pair_key(s[i], s[i + 1])] -= c;
      uint32_t out = 0;
      for (uint32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
          s[out++] = t;
          i += 2;
        } else {
          s[out++] = s[i++];
        }
      }
      word.size = out;
      for (uint32_t i = 0; i + 1 < out; ++i) {
        const uint64_t k = pair_key(s[i], s[i + 1]);
        delta_[k] += c;
        if (s[i] == t || s[i + 1] == t) where_[k].push_back(w);  // only pairs with t are new to the word
      }
    }
    for (const auto& [k, d] : delta_) {
      if (d == 0) continue;
      int64_t& n = counts_[k];
      n += d;
      TRIT_ASSERT(n >= 0);
      if (n == 0) {
        counts_.erase(k);
        where_.erase(k);
      } else {
        heap_.push({n, static_cast<int32_t>(k >> 32), static_cast<int32_t>(k)});
      }
    }
  }

  BpeTrainResult& r_;
  std::vector<int32_t> symbols_;
  std::vector<Word> words_;
  std::unordered_map<uint64_t, int64_t> counts_;               // live pairs -> occurrences in the corpus
  std::unordered_map<uint64_t, std::vector<uint32_t>> where_;  // pair -> words that hold (or held) it
  std::unordered_map<uint64_t, int64_t> delta_;                // one merge's count changes
  Heap heap_{EntryLess{nullptr}};
};

}  // namespace

BpeTrainResult train_bpe(std::string_view text, const BpeTrainOptions& options) {
  return train_bpe(std::span<const std::string_view>(&text, 1), options);
}

BpeTrainResult train_bpe(std::span<const std::string_view> texts, const BpeTrainOptions& options) {
  std::vector<std::string> specials;
  for (const std::string& s : options.special_tokens) {
    if (s.empty()) fail("train-tokenizer: a special token is empty");
    if (std::find(specials.begin(), specials.end(), s) == specials.end()) specials.push_back(s);
  }
  const auto n_special = static_cast<int32_t>(specials.size());
  if (options.vocab_size < n_special + 256)
    fail("train-tokenizer: --vocab-size {} is smaller than the {} special tokens + 256 bytes", options.vocab_size,
         n_special);

  BpeTrainResult r;
  r.n_special = n_special;
  r.tokens = specials;
  const std::array<int32_t, 256> ids = byte_ids(n_special);
  r.tokens.resize(static_cast<size_t>(n_special) + 256);
  for (int b = 0; b < 256; ++b) r.tokens[ids[b]] = std::string(1, static_cast<char>(b));

  std::vector<std::string_view> chunks;
  const size_t chunk_bytes = options.chunk_bytes > 0 ? options.chunk_bytes : kChunkBytes;
  uint64_t total_bytes = 0;
  for (std::string_view text : texts) {
    total_bytes += text.size();
    for (std::string_view run : split_specials(text, specials)) cut_chunks(run, chunk_bytes, chunks);
  }
  const int n_threads =
      options.n_threads > 0 ? options.n_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool bars = options.show_progress && total_bytes >= kProgressBytes;
  PieceCounts pieces = count_pieces(chunks, n_threads, bars, r.n_pieces);
  r.n_unique_words = pieces.size();

  Trainer trainer(r, pieces, ids);
  PieceCounts().swap(pieces);
  const int32_t n_merges = options.vocab_size - n_special - 256;
  runtime::ProgressBar bar("merging", static_cast<uint64_t>(n_merges), runtime::ProgressBar::Unit::kCount, !bars);
  r.merges.reserve(static_cast<size_t>(n_merges));
  for (int32_t k = 0; k < n_merges; ++k) {
    if (!trainer.step()) break;
    bar.set(static_cast<uint64_t>(k) + 1);
  }
  bar.finish();
  return r;
}

std::string byte_level_text(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += tokenizer::byte_to_unicode(static_cast<uint8_t>(c));
  return out;
}

namespace {

std::string token_text(const BpeTrainResult& r, size_t id) {
  return static_cast<int32_t>(id) < r.n_special ? r.tokens[id] : byte_level_text(r.tokens[id]);
}

std::string merge_text(const BpeTrainResult& r, const std::pair<int32_t, int32_t>& m) {
  return byte_level_text(r.tokens[m.first]) + " " + byte_level_text(r.tokens[m.second]);
}

}  // namespace

tokenizer::Vocab to_vocab(const BpeTrainResult& r) {
  tokenizer::Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  v.tokens.reserve(r.tokens.size());
  v.types.assign(r.tokens.size(), tokenizer::TokenType::kNormal);
  for (size_t id = 0; id < r.tokens.size(); ++id) v.tokens.push_back(token_text(r, id));
  for (int32_t id = 0; id < r.n_special; ++id) {
    v.types[id] = tokenizer::TokenType::kControl;
    if (r.tokens[id] == "<|endoftext|>") v.eos_id = id;
  }
  v.merges.reserve(r.merges.size());
  for (const auto& m : r.merges) v.merges.push_back(merge_text(r, m));
  v.add_bos = false;
  return v;
}

std::string to_tokenizer_json(const BpeTrainResult& r) {
  using Json = nlohmann::ordered_json;
  Json added = Json::array();
  for (int32_t id = 0; id < r.n_special; ++id)
    added.push_back({{"id", id},
                     {"content", r.tokens[id]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  Json vocab = Json::object();
  for (size_t id = 0; id < r.tokens.size(); ++id) vocab[token_text(r, id)] = id;
  Json merges = Json::array();
  for (const auto& m : r.merges) merges.push_back(merge_text(r, m));
  auto byte_level = [](bool add_prefix_space, bool trim_offsets) {
    return Json{{"type", "ByteLevel"},
                {"add_prefix_space", add_prefix_space},
                {"trim_offsets", trim_offsets},
                {"use_regex", true}};
  };
  Json root = {{"version", "1.0"},
               {"truncation", nullptr},
               {"padding", nullptr},
               {"added_tokens", added},
               {"normalizer", nullptr},
               {"pre_tokenizer", byte_level(false, true)},
               {"post_processor", byte_level(false, false)},
               {"decoder", byte_level(true, true)},
               {"model",
                {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},
                 {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr},
                 {"fuse_unk", false},
                 {"byte_fallback", false},
                 {"ignore_merges", false},
                 {"vocab", vocab},
                 {"merges", merges}}}};
  return root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string to_vocab_json(const BpeTrainResult& r) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (size_t id = 0; id < r.tokens.size(); ++id) vocab[token_text(r, id)] = id;
  return vocab.dump(4, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string to_merges_txt(const BpeTrainResult& r) {
  std::string out;
  for (const auto& m : r.merges) out += merge_text(r, m) + "\n";
  return out;
}

}  // namespace trit::train
