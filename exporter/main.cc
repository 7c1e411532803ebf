// podmeter: per-pod and per-container resource metrics from cgroups, served for Prometheus.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "collectors/kube/pod_source.h"
#include "collectors/readers/collector.h"
#include "collectors/readers/process_table.h"
#include "collectors/relay/relay.h"
#include "exporter/http_server.h"
#include "exporter/log.h"
#include "exporter/sampler.h"

#ifndef PODMETER_VERSION
#define PODMETER_VERSION "dev"
#endif

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  using namespace podmeter;
  CLI::App app{
      "podmeter: exact per-pod and per-container CPU, throttling and memory from cgroups,\n"
      "served at /metrics for Prometheus."};
  app.set_version_flag("--version", std::string(PODMETER_VERSION));
  std::string listen = ":10101";
  double interval_s = 1.0;
  SamplerOptions options;
  std::string log_level = "info";
  std::vector<std::string> disabled;
  PodSourceOptions pods;
  std::string pod_source = "auto";
  double pods_interval_s = 5.0, pod_timeout_s = 3.0, stale_after_s = 300.0,
         startup_timeout_s = 60.0;
  app.add_option("--listen", listen, "Address to serve /metrics, /healthz and / on ([host]:port)")
      ->capture_default_str();
  app.add_option("--interval", interval_s, "Seconds between samples")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_option("--cgroup-root", options.cgroup_root,
                 "Where the cgroup hierarchies are mounted (e.g. /host/sys/fs/cgroup)")
      ->capture_default_str();
  app.add_option("--proc-root", options.proc_root,
                 "The proc filesystem to read mountinfo and processes from (libproc2 is used when "
                 "it is /proc)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  std::string names;
  for (const std::string& n : CollectorNames()) names += (names.empty() ? "" : ", ") + n;
  app.add_option("--disable-collector", disabled, "Collectors to turn off (" + names + ")")
      ->check(CLI::IsMember(CollectorNames()));
  app.add_option("--pod-source", pod_source,
                 "Pod metadata: kubelet, apiserver, file, none, or auto (file when --pods-file is "
                 "given, else none)")
      ->check(CLI::IsMember({"auto", "kubelet", "apiserver", "file", "none"}))
      ->capture_default_str();
  app.add_option("--pods-file", pods.pods_file,
                 "PodList JSON in the kubelet's /pods format, re-read when it changes");
  app.add_option("--kubelet-url", pods.kubelet_url, "Default https://$NODE_NAME:10250/pods");
  app.add_option("--api-server-url", pods.api_server_url,
                 "Default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT");
  app.add_option("--node-name", pods.node_name, "This node's name (default $NODE_NAME)");
  app.add_option("--token-file", pods.token_file,
                 "Bearer token file (default: the pod's service-account token)");
  app.add_option("--ca-file", pods.ca_file, "CA bundle (default: the service-account ca.crt)");
  app.add_flag("--insecure-skip-tls-verify", pods.insecure_skip_tls_verify,
               "Do not verify the kubelet's / API server's certificate");
  app.add_option("--pods-interval", pods_interval_s, "Seconds between metadata fetches")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--pod-timeout", pod_timeout_s, "Seconds a metadata fetch may take")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  app.add_option("--stale-after", stale_after_s,
                 "Seconds a gone pod's restart/OOM/info series are kept")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--startup-timeout", startup_timeout_s,
                 "Seconds a new container is watched for its first listening socket")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  RelayOptions relay_options;
  bool relay_on = true;
  double relay_timeout_s = 0.5;
  app.add_flag("!--no-relay", relay_on,
               "Do not relay the metrics of pods annotated podmeter.io/scrape: \"true\"");
  app.add_option("--relay-timeout", relay_timeout_s, "Seconds a pod's metrics fetch may take")
      ->check(CLI::Range(0.01, 60.0))
      ->capture_default_str();
  app.add_option("--relay-max-series", relay_options.max_series_per_pod,
                 "Series per pod; a pod over it is skipped for that round")
      ->check(CLI::Range(size_t{1}, size_t{10000000}))
      ->capture_default_str();
  app.add_option("--relay-max-body-bytes", relay_options.max_body_bytes,
                 "Body size per pod; a pod over it is skipped for that round")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--relay-allow", relay_options.allow_regex,
                 "Relay only families whose whole name matches this regex");
  app.add_option("--relay-deny", relay_options.deny_regex,
                 "Do not relay families whose whole name matches this regex");
  app.add_flag(
      "--relay-prometheus-annotations", relay_options.honour_prometheus_annotations,
      "Also relay pods annotated prometheus.io/scrape (off: never a whole node by accident)");
  app.add_option("--relay-host", relay_options.host_override,
                 "Fetch this host instead of the pod IP (the one-machine lab: 127.0.0.1)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(log_level, &level);
  SetLogLevel(level);
  options.interval = std::chrono::milliseconds(static_cast<long>(interval_s * 1000));
  options.version = PODMETER_VERSION;
  options.stale_after_seconds = stale_after_s;
  options.startup_timeout = std::chrono::milliseconds(static_cast<long>(startup_timeout_s * 1000));
  if (pod_source == "auto") pod_source = pods.pods_file.empty() ? "none" : "file";
  using Kind = PodSourceOptions::Kind;
  pods.kind = pod_source == "kubelet"     ? Kind::kKubelet
              : pod_source == "apiserver" ? Kind::kApiServer
              : pod_source == "file"      ? Kind::kFile
                                          : Kind::kNone;
  pods.interval = std::chrono::milliseconds(static_cast<long>(pods_interval_s * 1000));
  pods.timeout = std::chrono::milliseconds(static_cast<long>(pod_timeout_s * 1000));
  std::unique_ptr<PodMetadataPoller> poller;
  MetadataFeed feed;
  if (pods.kind != Kind::kNone) {
    auto made = NewPodMetadataPoller(pods);
    if (!made.ok()) {
      std::cerr << "podmeter: " << made.status().message() << "\n";
      return 2;
    }
    poller = std::move(made.value());
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
    PodMetadataPoller* p = poller.get();
    feed.latest = [p] { return p->Latest(); };
    feed.error_counts = [p] { return p->ErrorCounts(); };
  }
  std::unique_ptr<Relay> relay;
  if (poller && relay_on) {
    relay_options.timeout = std::chrono::milliseconds(static_cast<long>(relay_timeout_s * 1000));
    relay_options.interval = options.interval;
    PodMetadataPoller* p = poller.get();
    auto made = NewRelay(relay_options, [p] { return p->Latest(); });
    if (!made.ok()) {
      std::cerr << "podmeter: " << made.status().message() << "\n";
      return 2;
    }
    relay = std::move(made.value());
    Relay* r = relay.get();
    feed.relay = [r] { return r->Latest(); };
  }

  std::unique_ptr<ProcessTable> processes = options.proc_root == "/proc"
                                                ? NewLibproc2ProcessTable()
                                                : NewProcfsProcessTable(options.proc_root);
  auto collectors = BuildCollectors(disabled, processes.get());
  if (!collectors.ok()) {
    std::cerr << "podmeter: " << collectors.status().message() << "\n";
    return 2;
  }
  auto store = std::make_shared<SnapshotStore>();
  auto server = HttpServer::Start(listen, store);
  if (!server.ok()) {
    std::cerr << "podmeter: " << server.status().message() << "\n";
    return server.status().code() == Status::Code::kInvalidData ? 2 : 1;
  }
  Log(LogLevel::kInfo, "podmeter " + options.version + " serving on port " +
                           std::to_string(server.value()->port()) + ", sampling every " +
                           std::to_string(interval_s) + " s");

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  if (poller) {
    poller->Start();
    // Give the first sample names rather than ids when the source answers quickly.
    poller->WaitForSuccess(0, std::chrono::milliseconds(1000));
  }
  if (relay) relay->Start();
  Sampler sampler(options, std::move(collectors.value()), store.get(), feed);
  sampler.Start();
  while (!g_stop) ::pause();
  Log(LogLevel::kInfo, "shutting down");
  sampler.Stop();
  if (relay) relay->Stop();
  if (poller) poller->Stop();
  return 0;
}
