#include "exporter/relay_metrics.h"

#include <algorithm>
#include <map>
#include <string>

namespace podmeter {

void AddRelayMetrics(const RelaySnapshot& snapshot, FamilyBuilder* out) {
  for (const RelayPodResult& p : snapshot.pods) {
    Labels labels = {{"namespace", p.target.namespace_name}, {"pod", p.target.pod}};
    out->Gauge("podmeter_relay_up", "1 when the pod's metrics were fetched and parsed this round.",
               labels, p.up ? 1 : 0);
    out->Gauge("podmeter_relay_series", "Series relayed for the pod.", labels,
               static_cast<double>(p.series));
  }
  out->Gauge("podmeter_relay_duration_seconds",
             "Duration of the last relay round (all pods, in parallel), in seconds.", {},
             snapshot.round_seconds);
  for (const auto& [reason, count] : snapshot.errors) {
    out->Counter("podmeter_relay_errors_total",
                 "Relay fetches that failed or were refused, by reason.", {{"reason", reason}},
                 static_cast<double>(count));
  }
}

uint64_t MergeRelayed(std::vector<prometheus::MetricFamily> relayed,
                      std::vector<prometheus::MetricFamily>* families) {
  if (relayed.empty()) return 0;
  uint64_t conflicts = 0;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < families->size(); ++i) index[(*families)[i].name] = i;
  for (auto& f : relayed) {
    auto it = index.find(f.name);
    if (it == index.end()) {
      families->push_back(std::move(f));
    } else {
      ++conflicts;
    }
  }
  std::sort(families->begin(), families->end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return conflicts;
}

}  // namespace podmeter
