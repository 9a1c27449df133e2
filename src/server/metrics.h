// /metrics: the scheduler's counters in the Prometheus text format, under llama-server's metric names
// (llamacpp:*) so existing dashboards work, plus trit's own (trit:*).
#pragma once

#include <string>

#include "server/scheduler.h"

namespace trit::server {

std::string prometheus_metrics(const SchedulerStats& stats, int n_slots);

}  // namespace trit::server
