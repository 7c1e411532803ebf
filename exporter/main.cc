// podmeter: per-pod and per-container resource metrics from cgroups, served for Prometheus.
// main: flags → Config (config.cc), then the wiring: pod metadata poller, relay, collectors,
// HTTP server, sampler; until SIGINT/SIGTERM.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iostream>

#include "collectors/base/open_file_cache.h"
#include "collectors/kube/pod_source.h"
#include "collectors/readers/collector.h"
#include "collectors/readers/process_table.h"
#include "collectors/relay/relay.h"
#include "exporter/config.h"
#include "exporter/http_server.h"
#include "exporter/log.h"
#include "exporter/sampler.h"
#include "exporter/stop_signals.h"
#include "exporter/web_config.h"

#ifndef PODMETER_VERSION
#define PODMETER_VERSION "dev"
#endif

namespace podmeter {
namespace {

// The pod metadata poller for config.pods (null without a source), not started.
StatusOr<std::unique_ptr<PodMetadataPoller>> NewPoller(const Config& config) {
  if (config.pods.kind == PodSourceOptions::Kind::kNone) {
    return std::unique_ptr<PodMetadataPoller>();
  }
  auto made = NewPodMetadataPoller(config.pods);
  if (!made.ok()) return made.status();
  std::unique_ptr<PodMetadataPoller> poller = std::move(made.value());
  poller->SetCallbacks(
      {[](const std::shared_ptr<const std::vector<PodMeta>>& list) {
         Log(LogLevel::kDebug, "pod metadata: " + std::to_string(list->size()) + " pods");
       },
       [last = std::string()](const std::string& reason, const Status& status) mutable {
         std::string msg = "pod metadata (" + reason + "): " + status.message();
         if (msg != last) Log(LogLevel::kWarn, msg + "; keeping the last good metadata");
         last = msg;
       }});
  Log(LogLevel::kInfo, "pod metadata from " + poller->source().Describe());
  return poller;
}

// The relay over `poller`'s pods (null when off or without a source), not started.
StatusOr<std::unique_ptr<Relay>> NewRelayFor(const Config& config, PodMetadataPoller* poller) {
  if (!poller || !config.relay) return std::unique_ptr<Relay>();
  return NewRelay(config.relay_options, [poller] { return poller->Latest(); });
}

MetadataFeed Feed(PodMetadataPoller* poller, Relay* relay) {
  MetadataFeed feed;
  if (poller) {
    feed.latest = [poller] { return poller->Latest(); };
    feed.error_counts = [poller] { return poller->ErrorCounts(); };
  }
  if (relay) feed.relay = [relay] { return relay->Latest(); };
  return feed;
}

// Private memory (docs/performance.md): at most two malloc arenas (glibc otherwise makes up to 8
// per core, one more whenever threads allocate at once, and each keeps what was freed in it), and a
// fixed mmap threshold: the text and gzip of a sample, replaced every sample, get mappings of their
// own that go back to the kernel when freed (glibc otherwise raises the threshold to the largest
// block freed, and those blocks stay in the heap). Before any thread starts.
void TuneMalloc() {
  ::mallopt(M_ARENA_MAX, 2);
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

int Fail(const Status& status, int code) {
  std::cerr << "podmeter: " << status.message() << "\n";
  return code;
}

// Wires the parts together and runs until a signal.
int Run(const Config& config, const WebSecurity& security) {
  SetLogLevel(config.log_level);
  auto poller = NewPoller(config);
  if (!poller.ok()) return Fail(poller.status(), 2);
  auto relay = NewRelayFor(config, poller->get());
  if (!relay.ok()) return Fail(relay.status(), 2);
  // A process read every few samples keeps its /proc directory open, not its `statm`.
  std::unique_ptr<ProcessTable> processes = NewStaggeredProcessTable(
      NewProcfsProcessTable(config.sampler.proc_root, config.process_every_samples > 1
                                                          ? OpenFileCache::Keep::kDirectories
                                                          : OpenFileCache::Keep::kFiles),
      config.process_every_samples);
  auto collectors = BuildCollectors(config.disabled_collectors, processes.get());
  if (!collectors.ok()) return Fail(collectors.status(), 2);
  auto store = std::make_shared<SnapshotStore>();
  // /healthz fails once the last complete sample is 5 intervals old (at least 10 s).
  auto server = HttpServer::Start(
      config.listen, store, std::max(5 * config.sampler.interval, std::chrono::milliseconds(10000)),
      security);
  if (!server.ok()) {
    return Fail(server.status(), server.status().code() == Status::Code::kInvalidData ? 2 : 1);
  }
  Log(LogLevel::kInfo,
      "podmeter " + config.sampler.version + " serving " +
          (security.cert_file.empty() ? "HTTP" : "HTTPS") +
          (security.auth ? " (credentials required for /metrics)" : "") + " on port " +
          std::to_string(server.value()->port()) + ", sampling every " +
          std::to_string(std::chrono::duration<double>(config.sampler.interval).count()) + " s");
  std::signal(SIGPIPE, SIG_IGN);
  if (*poller) {
    (*poller)->Start();
    // Give the first sample names rather than ids when the source answers quickly.
    (*poller)->WaitForSuccess(0, std::chrono::milliseconds(1000));
  }
  if (*relay) (*relay)->Start();
  MetadataFeed feed = Feed(poller->get(), relay->get());
  const HttpServer* http = server.value().get();  // outlives the sampler
  feed.http_drops = [http] { return http->drops().ByReason(); };
  Sampler sampler(config.sampler, std::move(collectors.value()), store.get(), std::move(feed));
  sampler.Start();
  int sig = WaitForStopSignal();  // SIGINT/SIGTERM stay pending until here (main blocks them)
  Log(LogLevel::kInfo,
      std::string("shutting down (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");
  sampler.Stop();
  if (*relay) (*relay)->Stop();
  if (*poller) (*poller)->Stop();
  return 0;
}

}  // namespace
}  // namespace podmeter

int main(int argc, char** argv) {
  podmeter::BlockStopSignals();  // before any thread: every thread inherits the mask
  podmeter::TuneMalloc();
  // The collectors keep a descriptor open per file they read each sample (docs/performance.md).
  podmeter::RaiseOpenFileLimit();
  podmeter::Config config;
  if (auto exit_code = podmeter::ParseFlags(argc, argv, PODMETER_VERSION, &config)) {
    return *exit_code;
  }
  if (podmeter::Status checked = podmeter::CheckConfig(config); !checked.ok()) {
    std::cerr << "podmeter: " << checked.message() << "\n";
    return 2;
  }
  if (config.kept_open_files) podmeter::SetKeptOpenBudget(*config.kept_open_files);
  // TLS files, credentials: checked now, so that a bad web config stops podmeter (exit 2).
  auto security = podmeter::LoadWebConfig(config.web_config_file);
  if (!security.ok()) {
    std::cerr << "podmeter: " << security.status().message() << "\n";
    return 2;
  }
  return podmeter::Run(config, security.value());
}
