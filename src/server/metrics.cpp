// Prometheus exposition format 0.0.4: "# HELP", "# TYPE", then "name value" per metric.
#include "server/metrics.h"

#include <fmt/format.h>

namespace trit::server {
namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

}  // namespace

std::string prometheus_metrics(const SchedulerStats& s, int n_slots) {
  std::string out;
  metric(out, "llamacpp:prompt_tokens_total", "counter", "Number of prompt tokens processed.",
         static_cast<double>(s.prompt_tokens));
  metric(out, "llamacpp:prompt_seconds_total", "counter", "Prompt process time.", s.prompt_seconds);
  metric(out, "llamacpp:tokens_predicted_total", "counter", "Number of generation tokens processed.",
         static_cast<double>(s.generated_tokens));
  metric(out, "llamacpp:tokens_predicted_seconds_total", "counter", "Predict process time.", s.generation_seconds);
  metric(out, "llamacpp:n_decode_total", "counter", "Total number of forward passes (batches).",
         static_cast<double>(s.steps));
  metric(out, "llamacpp:prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.",
         s.prompt_seconds > 0 ? s.prompt_tokens / s.prompt_seconds : 0.0);
  metric(out, "llamacpp:predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.",
         s.generation_seconds > 0 ? s.generated_tokens / s.generation_seconds : 0.0);
  metric(out, "llamacpp:requests_processing", "gauge", "Number of requests processing.",
         static_cast<double>(s.busy_slots));
  metric(out, "llamacpp:requests_deferred", "gauge", "Number of requests deferred.", static_cast<double>(s.queued));
  metric(out, "trit:slots_total", "gauge", "Number of slots (--parallel).", n_slots);
  metric(out, "trit:prompt_tokens_cached_total", "counter", "Prompt tokens reused from a slot's cache.",
         static_cast<double>(s.cached_tokens));
  metric(out, "trit:max_batch_sequences", "gauge", "Most sequences seen in one forward pass.",
         static_cast<double>(s.max_step_sequences));
  metric(out, "trit:embedding_requests_total", "counter", "Embedding requests answered.",
         static_cast<double>(s.embedding_requests));
  metric(out, "trit:embedding_tokens_total", "counter", "Tokens embedded.", static_cast<double>(s.embedding_tokens));
  metric(out, "trit:embedding_seconds_total", "counter", "Time spent embedding.", s.embedding_seconds);
  out += "# HELP trit:requests_total Requests ended, by outcome.\n# TYPE trit:requests_total counter\n";
  out += fmt::format("trit:requests_total{{outcome=\"done\"}} {}\n", s.requests_done);
  out += fmt::format("trit:requests_total{{outcome=\"cancelled\"}} {}\n", s.requests_cancelled);
  out += fmt::format("trit:requests_total{{outcome=\"failed\"}} {}\n", s.requests_failed);
  return out;
}

}  // namespace trit::server
