// podmeter: per-pod and per-container resource metrics from cgroups, served for Prometheus.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "collectors/collector.h"
#include "collectors/process_table.h"
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
  Sampler sampler(options, std::move(collectors.value()), store.get());
  sampler.Start();
  while (!g_stop) ::pause();
  Log(LogLevel::kInfo, "shutting down");
  sampler.Stop();
  return 0;
}
