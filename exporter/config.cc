#include "exporter/config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>

#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/mountinfo.h"
#include "collectors/readers/collector.h"
#include "exporter/self_metrics.h"

namespace podmeter {
namespace {

// Flags given in seconds, or as words, before they become Config fields.
struct RawFlags {
  double interval_s = 1.0;
  std::string log_level = "info";
  std::string pod_source = "auto";
  double pods_interval_s = 5.0;
  double pod_timeout_s = 3.0;
  double stale_after_s = 300.0;
  double startup_timeout_s = 60.0;
  double relay_timeout_s = 0.5;
  std::string kubelet_cgroup_root = "auto";
  std::string pod_uid;
  std::string kept_open_files = "auto";
  double process_interval_s = 5.0;
};

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

void AddSamplingFlags(CLI::App& app, Config* c, RawFlags* raw) {
  app.add_option("--listen", c->listen,
                 "Address to serve /metrics, /healthz and / on ([host]:port)")
      ->capture_default_str();
  app.add_option("--web.config.file", c->web_config_file,
                 "TLS and basic/bearer authentication for /metrics, in the Prometheus "
                 "exporter-toolkit's web config format (docs/exporter.md)");
  app.add_option("--interval", raw->interval_s, "Seconds between samples")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_option("--cgroup-root", c->sampler.cgroup_root,
                 "Where the cgroup hierarchies are mounted (e.g. /host/sys/fs/cgroup)")
      ->capture_default_str();
  app.add_option("--proc-root", c->sampler.proc_root,
                 "The proc filesystem to read mountinfo and processes (<pid>/statm) from")
      ->capture_default_str();
  app.add_option("--kept-open-files", raw->kept_open_files,
                 "Files kept open between samples, re-read without opening them: less CPU, ~4.4 "
                 "kB of kernel memory each, charged to podmeter's cgroup (docs/performance.md). "
                 "0: open, read and close every file each sample. auto: half the open-file limit")
      ->check([](const std::string& v) {
        uint64_t n = 0;
        return v == "auto" || ParseUint64(v, &n) ? std::string()
                                                 : std::string("must be auto or a count");
      })
      ->capture_default_str();
  app.add_option("--process-interval", raw->process_interval_s,
                 "Seconds between two reads of a process's own figures (process_resident_bytes "
                 "from <pid>/statm), rounded to whole samples and staggered over them; a process "
                 "is read the first sample it appears in. The cgroup files are read every "
                 "sample; the process and thread lists whenever the cgroup's pids.current moved "
                 "and at least at this interval. 0: every sample")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option(
         "--kubelet-cgroup-root", raw->kubelet_cgroup_root,
         "The kubelet's cgroupRoot (e.g. / or /podmeter-node): only the kubepods tree "
         "directly below it is read. auto: the tree holding podmeter's own pod (--pod-uid), "
         "else every kubepods tree found")
      ->check([](const std::string& v) {
        return v == "auto" || (!v.empty() && v.front() == '/')
                   ? std::string()
                   : std::string("must be auto or an absolute cgroup path");
      })
      ->capture_default_str();
  app.add_option("--pod-uid", raw->pod_uid,
                 "podmeter's own pod uid (default $POD_UID, from the downward API)");
  app.add_option("--log-level", raw->log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  std::string names;
  for (const std::string& n : CollectorNames()) names += (names.empty() ? "" : ", ") + n;
  app.add_option("--disable-collector", c->disabled_collectors,
                 "Collectors to turn off (" + names + ")")
      ->check(CLI::IsMember(CollectorNames()));
}

void AddPodSourceFlags(CLI::App& app, Config* c, RawFlags* raw) {
  PodSourceOptions& pods = c->pods;
  app.add_option("--pod-source", raw->pod_source,
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
  app.add_option("--pods-interval", raw->pods_interval_s, "Seconds between metadata fetches")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--pod-timeout", raw->pod_timeout_s, "Seconds a metadata fetch may take")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  app.add_option("--stale-after", raw->stale_after_s,
                 "Seconds a gone pod's restart/OOM/info series are kept")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--startup-timeout", raw->startup_timeout_s,
                 "Seconds a new container is watched for its first listening socket")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
}

void AddRelayFlags(CLI::App& app, Config* c, RawFlags* raw) {
  RelayOptions& relay = c->relay_options;
  app.add_flag("!--no-relay", c->relay,
               "Do not relay the metrics of pods annotated podmeter.io/scrape: \"true\"");
  app.add_option("--relay-timeout", raw->relay_timeout_s, "Seconds a pod's metrics fetch may take")
      ->check(CLI::Range(0.01, 60.0))
      ->capture_default_str();
  app.add_option("--relay-max-series", relay.max_series_per_pod,
                 "Series per pod; a pod over it is skipped for that round")
      ->check(CLI::Range(size_t{1}, size_t{10000000}))
      ->capture_default_str();
  app.add_option("--relay-max-body-bytes", relay.max_body_bytes,
                 "Body size per pod; a pod over it is skipped for that round")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--relay-allow", relay.allow_regex,
                 "Relay only families whose whole name matches this regex");
  app.add_option("--relay-deny", relay.deny_regex,
                 "Do not relay families whose whole name matches this regex");
  app.add_flag(
      "--relay-prometheus-annotations", relay.honour_prometheus_annotations,
      "Also relay pods annotated prometheus.io/scrape (off: never a whole node by accident)");
  app.add_option("--relay-host", relay.host_override,
                 "Fetch this host instead of the pod IP (the one-machine lab: 127.0.0.1)");
}

// The Config fields that come from RawFlags, once the command line is parsed.
void Resolve(const RawFlags& raw, const std::string& version, Config* c) {
  ParseLogLevel(raw.log_level, &c->log_level);
  c->sampler.interval = Millis(raw.interval_s);
  c->sampler.version = version;
  c->sampler.stale_after_seconds = raw.stale_after_s;
  c->sampler.startup_timeout = Millis(raw.startup_timeout_s);
  c->process_every_samples =
      static_cast<unsigned>(std::max(1L, std::lround(raw.process_interval_s / raw.interval_s)));
  uint64_t kept = 0;
  if (raw.kept_open_files != "auto" && ParseUint64(raw.kept_open_files, &kept)) {
    c->kept_open_files = static_cast<size_t>(kept);
  }
  if (raw.kubelet_cgroup_root != "auto") {
    c->sampler.kubelet_trees.cgroup_root = raw.kubelet_cgroup_root;
  }
  const char* pod_uid_env = std::getenv("POD_UID");
  c->sampler.kubelet_trees.own_pod_uid =
      !raw.pod_uid.empty() ? raw.pod_uid : (pod_uid_env != nullptr ? pod_uid_env : "");
  std::string source = raw.pod_source;
  if (source == "auto") source = c->pods.pods_file.empty() ? "none" : "file";
  using Kind = PodSourceOptions::Kind;
  c->pods.kind = source == "kubelet"     ? Kind::kKubelet
                 : source == "apiserver" ? Kind::kApiServer
                 : source == "file"      ? Kind::kFile
                                         : Kind::kNone;
  c->pods.interval = Millis(raw.pods_interval_s);
  c->pods.timeout = Millis(raw.pod_timeout_s);
  c->relay_options.timeout = Millis(raw.relay_timeout_s);
  c->relay_options.interval = c->sampler.interval;
  c->relay_options.reserved_families.assign(std::begin(kSelfProcessFamilies),
                                            std::end(kSelfProcessFamilies));
}

}  // namespace

std::optional<int> ParseFlags(int argc, char** argv, const std::string& version, Config* config) {
  CLI::App app{
      "podmeter: exact per-pod and per-container CPU, throttling and memory from cgroups,\n"
      "served at /metrics for Prometheus."};
  app.set_version_flag("--version", version);
  RawFlags raw;
  AddSamplingFlags(app, config, &raw);
  AddPodSourceFlags(app, config, &raw);
  AddRelayFlags(app, config, &raw);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();  // one line, as every podmeter error (docs/exporter.md)
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::cerr << "podmeter: " << what << " (see --help)\n";
    return 2;
  }
  Resolve(raw, version, config);
  return std::nullopt;
}

namespace {

// What --kept-open-files may take: the open-file limit less what the HTTP server (1,024
// connections), the watchers and the relay need besides.
constexpr uint64_t kOtherFiles = 1200;

Status CheckKeptOpenFiles(std::optional<size_t> kept) {
  if (!kept) return Status::Ok();
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return Status::Ok();
  const uint64_t room = rl.rlim_cur > kOtherFiles ? rl.rlim_cur - kOtherFiles : 0;
  if (*kept > room) {
    return Status::InvalidData("--kept-open-files " + std::to_string(*kept) +
                               ": the open-file limit is " + std::to_string(rl.rlim_cur) +
                               ", which leaves " + std::to_string(room) + " beside the " +
                               std::to_string(kOtherFiles) + " podmeter needs for the rest");
  }
  return Status::Ok();
}

// OK when `path` is what `want` says ("a regular file" or "a directory"); else a one-line error.
Status CheckPath(const std::string& flag, const std::string& path, bool directory) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::InvalidData(flag + " " + path + ": " + std::strerror(errno));
  }
  if (directory && !S_ISDIR(st.st_mode)) {
    return Status::InvalidData(flag + " " + path + ": not a directory");
  }
  if (!directory && !S_ISREG(st.st_mode)) {
    return Status::InvalidData(flag + " " + path + ": not a regular file");
  }
  return Status::Ok();
}

}  // namespace

Status CheckConfig(const Config& config) {
  if (config.pods.kind == PodSourceOptions::Kind::kFile) {
    if (config.pods.pods_file.empty())
      return Status::InvalidData("--pod-source file needs --pods-file");
    if (Status s = CheckPath("--pods-file", config.pods.pods_file, false); !s.ok()) return s;
  }
  if (Status s = CheckKeptOpenFiles(config.kept_open_files); !s.ok()) return s;
  const SamplerOptions& sampler = config.sampler;
  if (Status s = CheckPath("--cgroup-root", sampler.cgroup_root, true); !s.ok()) return s;
  if (Status s = CheckPath("--proc-root", sampler.proc_root, true); !s.ok()) return s;
  const std::string mountinfo = JoinPath(sampler.proc_root, "self/mountinfo");
  StatusOr<std::string> text = ReadFileToString(mountinfo);
  if (!text.ok()) return Status::InvalidData("--proc-root: " + text.status().message());
  StatusOr<std::vector<MountInfo>> mounts = ParseMountInfo(*text);
  if (!mounts.ok()) return Status::InvalidData("--proc-root: " + mounts.status().message());
  if (SelectCgroupMounts(*mounts, sampler.cgroup_root).version == CgroupMounts::Version::kNone) {
    return Status::InvalidData("--cgroup-root " + sampler.cgroup_root +
                               ": no cgroup mount at or under it in " + mountinfo);
  }
  return Status::Ok();
}

}  // namespace podmeter
