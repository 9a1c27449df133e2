// The scheduler loop: assign waiting tasks to idle slots (reusing the longest cached prefix), build
// one batch from every busy slot, run it, sample, stream, finish.
#include "server/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "model/context.h"
#include "runtime/error.h"

namespace trit::server {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The top n tokens of softmax(logits), most probable first.
std::vector<TokenProbability> top_probabilities(std::span<const float> logits, int32_t n,
                                                const tokenizer::Tokenizer& tok) {
  std::vector<float> top;
  std::vector<int32_t> ids;
  model::top_logits(logits, static_cast<int>(std::min(logits.size(), static_cast<size_t>(n))), top, ids);
  const float max_logit = top[0];
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - max_logit));
  std::vector<TokenProbability> out;
  for (size_t i = 0; i < ids.size(); ++i)
    out.push_back({ids[i], tok.token_to_piece(ids[i], true),
                   static_cast<float>(std::exp(static_cast<double>(top[i] - max_logit)) / sum)});
  return out;
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

}  // namespace

struct Scheduler::Slot {
  Slot(int id, const model::HParams& h, int64_t n_ctx, model::KvType kv) : id(id), cache(h, n_ctx, kv) {}
  enum class State { kIdle, kPrompt, kDecode };

  int id;
  model::KvCache cache;
  std::vector<int32_t> cached;  // the tokens in the cache, in order
  // Of those, how many were computed as part of a prompt batch of two or more tokens. Only these are
  // reused: a prompt read in batches computes its keys and values in one fixed way, while a decoded
  // token's (one at a time, ggml's f16 order) differ in the last bits, and a reply must not depend on
  // which slot served it.
  int64_t n_batch_computed = 0;
  uint64_t last_used = 0;

  State state = State::kIdle;
  std::shared_ptr<Task> task;
  std::vector<int32_t> history;  // prompt + generated, for the penalties
  std::unique_ptr<sampling::Sampler> sampler;
  std::unique_ptr<tokenizer::StreamDecoder> decoder;
  std::unique_ptr<sampling::StopStrings> stops;
  std::vector<float> logits;
  int32_t next_token = -1;  // sampled, to be fed at the next step
  TaskResult result;
  Clock::time_point t_start, t_first;
};

Scheduler::Scheduler(const model::Model& model, const SchedulerOptions& options)
    : Scheduler(std::make_unique<model::Forward>(model, options.n_threads), options) {}

Scheduler::Scheduler(std::unique_ptr<model::Backend> backend, const SchedulerOptions& options)
    : model_(backend->model()),
      tok_(model_.tokenizer()),
      options_(options),
      n_ctx_(model::resolve_n_ctx(model_, options.n_ctx)),
      backend_(std::move(backend)) {
  const model::Model& model = model_;
  if (options.n_slots < 1) trit::fail("--parallel must be at least 1 (got {})", options.n_slots);
  if (options.n_batch < 3) trit::fail("the prompt batch size must be at least 3 (got {})", options.n_batch);
  for (int i = 0; i < options.n_slots; ++i)
    slots_.push_back(std::make_unique<Slot>(i, model.hparams(), n_ctx_, options.kv_type));
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<Task> Scheduler::submit(std::vector<int32_t> prompt, GenerationParams params) {
  static std::atomic<uint64_t> next_id{1};
  if (prompt.empty()) trit::fail("the prompt is empty");
  for (int32_t id : prompt)
    if (id < 0 || id >= model_.hparams().n_vocab)
      trit::fail("token id {} in the prompt is out of range (vocabulary of {})", id, model_.hparams().n_vocab);
  if (static_cast<int64_t>(prompt.size()) >= n_ctx_)
    trit::fail("the prompt is {} tokens, but a slot's context holds {} (including the reply)", prompt.size(), n_ctx_);
  params.sampler.validate();
  auto task = std::make_shared<Task>(next_id++, std::move(prompt), std::move(params));
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) throw Unavailable("the server is shutting down");
    std::erase_if(waiting_, [](const auto& t) { return t->cancelled(); });
    int64_t idle = 0;
    for (const auto& s : slots_) idle += s->state == Slot::State::kIdle;
    if (static_cast<int64_t>(waiting_.size()) >= options_.max_queue + idle)
      throw Unavailable(fmt::format("the server is busy: all {} slots are in use and {} requests are queued",
                                    slots_.size(), waiting_.size()));
    waiting_.push_back(task);
    stats_.queued = static_cast<int64_t>(waiting_.size());
  }
  wake_.notify_all();
  return task;
}

std::shared_ptr<EmbeddingJob> Scheduler::submit_embeddings(std::vector<std::vector<int32_t>> inputs) {
  if (inputs.empty()) trit::fail("no inputs to embed");
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].empty()) trit::fail("input {} is empty", i);
    if (static_cast<int64_t>(inputs[i].size()) > n_ctx_)
      trit::fail("input {} is {} tokens, more than the context of {}", i, inputs[i].size(), n_ctx_);
    for (int32_t id : inputs[i])
      if (id < 0 || id >= model_.hparams().n_vocab)
        trit::fail("token id {} in input {} is out of range (vocabulary of {})", id, i, model_.hparams().n_vocab);
  }
  auto job = std::make_shared<EmbeddingJob>(std::move(inputs));
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) throw Unavailable("the server is shutting down");
    if (static_cast<int64_t>(embeddings_waiting_.size()) >= options_.max_queue + 1)
      throw Unavailable(
          fmt::format("the server is busy: {} embedding requests are queued", embeddings_waiting_.size()));
    embeddings_waiting_.push_back(job);
  }
  wake_.notify_all();
  return job;
}

// Every input of the waiting jobs in forward passes of at most max_batch_tokens tokens (a single
// larger input runs alone), each input with a cache of its own size.
void Scheduler::run_embeddings(std::vector<std::shared_ptr<EmbeddingJob>>& jobs) {
  const auto t0 = Clock::now();
  std::vector<std::vector<std::vector<float>>> results(jobs.size());
  std::vector<bool> failed(jobs.size(), false);
  struct Item {
    size_t job, input;
  };
  std::vector<Item> items;
  for (size_t j = 0; j < jobs.size(); ++j) {
    results[j].resize(jobs[j]->inputs().size());
    for (size_t i = 0; i < jobs[j]->inputs().size(); ++i) items.push_back({j, i});
  }
  int64_t n_tokens = 0;
  for (size_t begin = 0; begin < items.size();) {
    size_t end = begin;
    int64_t batch_tokens = 0;
    while (end < items.size()) {
      const int64_t len = static_cast<int64_t>(jobs[items[end].job]->inputs()[items[end].input].size());
      if (end > begin && batch_tokens + len > options_.max_batch_tokens) break;
      batch_tokens += len;
      ++end;
    }
    std::vector<model::KvCache> caches;
    caches.reserve(end - begin);
    std::vector<model::SequenceInput> batch;
    for (size_t k = begin; k < end; ++k) {
      const auto& tokens = jobs[items[k].job]->inputs()[items[k].input];
      caches.emplace_back(model_.hparams(), static_cast<int64_t>(tokens.size()), options_.kv_type);
      batch.push_back({&caches.back(), tokens});
    }
    try {
      const auto vectors = backend_->embed(batch, /*normalize=*/true);
      for (size_t k = begin; k < end; ++k)
        results[items[k].job][items[k].input].assign(vectors[k - begin].begin(), vectors[k - begin].end());
    } catch (const std::exception& e) {
      for (size_t k = begin; k < end; ++k)
        if (!failed[items[k].job]) {
          failed[items[k].job] = true;
          jobs[items[k].job]->fail(fmt::format("the forward pass failed: {}", e.what()));
        }
    }
    n_tokens += batch_tokens;
    begin = end;
  }
  {
    std::lock_guard lock(mutex_);
    stats_.embedding_requests += static_cast<int64_t>(jobs.size());
    stats_.embedding_inputs += static_cast<int64_t>(items.size());
    stats_.embedding_tokens += n_tokens;
    stats_.embedding_seconds += ms_between(t0, Clock::now()) / 1000.0;
  }
  for (size_t j = 0; j < jobs.size(); ++j)
    if (!failed[j]) jobs[j]->finish(std::move(results[j]));
}

void Scheduler::drain(std::chrono::milliseconds grace) {
  std::unique_lock lock(mutex_);
  accepting_ = false;
  idle_.wait_for(lock, grace,
                 [&] { return waiting_.empty() && embeddings_waiting_.empty() && stats_.busy_slots == 0; });
  stopping_ = true;  // the loop cancels what is left and ends
  lock.unlock();
  wake_.notify_all();
}

std::vector<SlotInfo> Scheduler::slots() const {
  std::lock_guard lock(mutex_);
  std::vector<SlotInfo> out;
  for (const auto& s : slots_) {
    out.push_back({s->id, s->state != Slot::State::kIdle, s->task ? s->task->id() : 0,
                   static_cast<int64_t>(s->result.n_prompt), s->result.n_generated,
                   static_cast<int64_t>(s->cached.size()), n_ctx_});
  }
  return out;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

// Gives waiting tasks to idle slots: the slot whose cache shares the longest usable prefix with the
// prompt, else the least recently used. Returns whether any slot is busy.
bool Scheduler::assign_waiting() {
  std::erase_if(waiting_, [&](const std::shared_ptr<Task>& t) {
    if (!t->cancelled()) return false;
    t->finish({.reason = StopReason::kCancelled});
    ++stats_.requests_cancelled;
    return true;
  });
  static uint64_t use_counter = 0;
  while (!waiting_.empty()) {
    Slot* best = nullptr;
    size_t best_keep = 0;
    const std::shared_ptr<Task>& task = waiting_.front();
    const auto& prompt = task->prompt();
    for (const auto& s : slots_) {
      if (s->state != Slot::State::kIdle) continue;
      size_t keep = 0;
      if (task->params().cache_prompt && prompt.size() >= 2)
        keep = std::min({common_prefix(s->cached, prompt), static_cast<size_t>(s->n_batch_computed),
                         prompt.size() - 2});  // at least two prompt tokens are read again: see Slot
      if (!best || keep > best_keep || (keep == best_keep && s->last_used < best->last_used)) {
        best = s.get();
        best_keep = keep;
      }
    }
    if (!best) break;
    Slot& s = *best;
    s.task = task;
    s.task->set_slot(s.id);
    waiting_.pop_front();
    s.state = Slot::State::kPrompt;
    s.last_used = ++use_counter;
    s.cache.truncate(static_cast<int64_t>(best_keep));
    s.cached.resize(best_keep);
    s.n_batch_computed = std::min<int64_t>(s.n_batch_computed, static_cast<int64_t>(best_keep));
    const GenerationParams& p = s.task->params();
    s.history = prompt;
    s.sampler = std::make_unique<sampling::Sampler>(p.sampler);
    s.decoder = std::make_unique<tokenizer::StreamDecoder>(tok_);
    s.stops = std::make_unique<sampling::StopStrings>(p.stops);
    s.result = TaskResult{};
    s.result.n_prompt = static_cast<int64_t>(prompt.size());
    s.result.n_cached = static_cast<int64_t>(best_keep);
    s.result.slot = s.id;
    s.t_start = Clock::now();
    stats_.cached_tokens += static_cast<int64_t>(best_keep);
  }
  update_occupancy();
  return stats_.busy_slots > 0;
}

void Scheduler::update_occupancy() {
  stats_.queued = static_cast<int64_t>(waiting_.size());
  stats_.busy_slots = 0;
  for (const auto& s : slots_) stats_.busy_slots += s->state != Slot::State::kIdle;
  if (stats_.busy_slots == 0 && waiting_.empty() && embeddings_waiting_.empty()) idle_.notify_all();
}

void Scheduler::loop() {
  for (;;) {
    std::vector<std::shared_ptr<EmbeddingJob>> embedding_jobs;
    bool busy = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] {
        if (stopping_) return true;
        for (const auto& s : slots_)
          if (s->state != Slot::State::kIdle) return true;
        return !waiting_.empty() || !embeddings_waiting_.empty();
      });
      embedding_jobs.swap(embeddings_waiting_);
      if (stopping_) {
        for (auto& t : waiting_) t->finish({.reason = StopReason::kCancelled});
        waiting_.clear();
        for (auto& s : slots_)
          if (s->state != Slot::State::kIdle) s->task->cancel();
      }
      for (auto& s : slots_)
        if (s->state != Slot::State::kIdle && s->task->cancelled()) finish(*s, StopReason::kCancelled);
      busy = assign_waiting();
      if (!busy && embedding_jobs.empty()) {
        if (stopping_) return;
        continue;
      }
    }
    if (!embedding_jobs.empty()) {
      run_embeddings(embedding_jobs);
      std::lock_guard lock(mutex_);
      update_occupancy();
    }
    if (busy) step();
  }
}

// One forward pass over every busy slot: decode slots feed their last token; prompt slots their
// next chunk, within the per-step prompt budget (the oldest prompt always gets its chunk).
void Scheduler::step() {
  std::vector<model::SequenceInput> batch;
  std::vector<Slot*> in_batch;
  std::vector<std::vector<int32_t>> chunks;  // kept alive for the batch's spans
  chunks.reserve(slots_.size());
  int64_t prompt_budget = options_.max_batch_tokens;
  std::vector<Slot*> order;
  for (auto& s : slots_)
    if (s->state != Slot::State::kIdle) order.push_back(s.get());
  std::sort(order.begin(), order.end(), [](Slot* a, Slot* b) { return a->task->id() < b->task->id(); });
  for (Slot* s : order) {
    if (s->state == Slot::State::kDecode) {
      chunks.push_back({s->next_token});
    } else {
      const auto& prompt = s->task->prompt();
      const int64_t done = s->cache.n_past();
      const int64_t remaining = static_cast<int64_t>(prompt.size()) - done;
      // Fixed chunks of n_batch whatever else runs, never leaving a single token for the last chunk
      // (a lone token takes the one-token attention path): the numbers never depend on the traffic.
      int64_t n = std::min(remaining, options_.n_batch);
      if (remaining - n == 1) --n;
      if (n > prompt_budget && !in_batch.empty()) continue;
      prompt_budget -= n;
      chunks.emplace_back(prompt.begin() + done, prompt.begin() + done + n);
    }
    in_batch.push_back(s);
    batch.push_back({&s->cache, chunks.back(), false});
  }

  // Sampling on the device: when every slot's sampler decides from its top k logits and none wants the
  // probabilities of the whole row, the backend (a GPU) cuts them there and only they come back.
  const int32_t top = device_top_k(in_batch);
  std::vector<std::span<const float>> logits;
  std::vector<model::TopLogits> tops;
  try {
    if (top > 0)
      tops = backend_->eval_top_k(batch, top);
    else
      logits = backend_->eval(batch);
  } catch (const std::exception& e) {  // validated before queueing, so only resource failures land here
    std::lock_guard lock(mutex_);
    for (Slot* s : in_batch) {
      s->task->fail(fmt::format("the forward pass failed: {}", e.what()));
      ++stats_.requests_failed;
      s->task.reset();
      s->state = Slot::State::kIdle;
    }
    update_occupancy();
    return;
  }

  std::lock_guard lock(mutex_);
  ++stats_.steps;
  stats_.max_step_sequences = std::max<int64_t>(stats_.max_step_sequences, static_cast<int64_t>(batch.size()));
  for (size_t b = 0; b < in_batch.size(); ++b) {
    Slot& s = *in_batch[b];
    const auto& fed = chunks[b];
    s.cached.insert(s.cached.end(), fed.begin(), fed.end());
    if (s.state == Slot::State::kPrompt) {
      if (fed.size() >= 2 && s.n_batch_computed == static_cast<int64_t>(s.cached.size() - fed.size()))
        s.n_batch_computed = static_cast<int64_t>(s.cached.size());
      stats_.prompt_tokens += static_cast<int64_t>(fed.size());
      if (s.cache.n_past() < static_cast<int64_t>(s.task->prompt().size())) continue;  // more prompt to read
      s.t_first = Clock::now();
      s.result.prompt_ms = ms_between(s.t_start, s.t_first);
      stats_.prompt_seconds += s.result.prompt_ms / 1000.0;
      s.state = Slot::State::kDecode;
      if (s.task->params().n_predict == 0) {
        finish(s, StopReason::kLength);
        continue;
      }
    }
    if (top > 0)
      sample_and_emit(s, {}, &tops[b]);
    else
      sample_and_emit(s, logits[b], nullptr);
  }
  update_occupancy();
}

int32_t Scheduler::device_top_k(const std::vector<Slot*>& batch) const {
  int32_t top = 0;
  for (const Slot* s : batch) {
    const int32_t need = s->sampler->top_needed();
    if (!backend_->picks_top_k(need) || s->task->params().n_probs > 0) return 0;
    top = std::max(top, need);
  }
  return top;
}

void Scheduler::sample_and_emit(Slot& s, std::span<const float> logits, const model::TopLogits* top) {
  const GenerationParams& p = s.task->params();
  TextPiece piece;
  int32_t id;
  if (top) {
    id = s.sampler->sample_top(top->logits, top->ids);
  } else {
    s.logits.assign(logits.begin(), logits.end());
    if (p.n_probs > 0) piece.probs = top_probabilities(s.logits, p.n_probs, tok_);
    id = s.sampler->sample(s.logits, s.history);
  }
  s.history.push_back(id);
  s.result.tokens.push_back(id);
  ++s.result.n_generated;
  ++stats_.generated_tokens;
  if (!p.ignore_eos && tok_.is_eog(id)) return finish(s, StopReason::kEos);
  piece.token = id;
  piece.text = s.stops->push(s.decoder->push(id));
  s.result.content += piece.text;
  s.task->push(std::move(piece));
  if (s.stops->stopped()) return finish(s, StopReason::kStopString);
  if (p.n_predict >= 0 && s.result.n_generated >= p.n_predict) return finish(s, StopReason::kLength);
  if (s.cache.n_past() >= s.cache.n_ctx()) {
    s.result.truncated = true;
    return finish(s, StopReason::kLength);
  }
  s.next_token = id;
}

// Ends the slot's task (under mutex_): the text held back is released unless a stop string ended it.
void Scheduler::finish(Slot& s, StopReason reason) {
  if (reason != StopReason::kStopString && reason != StopReason::kCancelled) {
    std::string rest = s.stops->push(s.decoder->flush());
    rest += s.stops->flush();
    if (!rest.empty()) {
      s.result.content += rest;
      s.task->push({rest, -1, {}});
    }
  }
  if (reason == StopReason::kStopString) s.result.stopping_word = s.stops->matched();
  s.result.reason = reason;
  const auto now = Clock::now();
  if (s.state == Slot::State::kDecode) {
    s.result.generation_ms = ms_between(s.t_first, now);
    stats_.generation_seconds += s.result.generation_ms / 1000.0;
  }
  if (reason == StopReason::kCancelled)
    ++stats_.requests_cancelled;
  else
    ++stats_.requests_done;
  s.task->finish(s.result);
  s.task.reset();
  s.state = Slot::State::kIdle;
  // A prompt cut short leaves its cache mid-chunk: only batch-computed positions are ever reused.
  s.n_batch_computed = std::min<int64_t>(s.n_batch_computed, s.cache.n_past());
}

}  // namespace trit::server
