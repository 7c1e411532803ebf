#include "exporter/sampler.h"

#include <malloc.h>

#include <algorithm>

#include "collectors/base/file_util.h"
#include "collectors/base/open_file_cache.h"
#include "collectors/readers/pod_reader.h"
#include "exporter/family_builder.h"
#include "exporter/log.h"
#include "exporter/relay_metrics.h"
#include "exporter/resource_metrics.h"
#include "exporter/tracker_metrics.h"
#include "tracking/sandbox_filter.h"

namespace podmeter {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Sampler::Sampler(SamplerOptions options, std::vector<std::unique_ptr<Collector>> collectors,
                 SnapshotStore* store, MetadataFeed metadata)
    : options_(std::move(options)),
      collectors_(std::move(collectors)),
      rows_(ResourceRows(collectors_)),
      store_(store),
      metadata_(std::move(metadata)),
      discovery_(options_.kubelet_trees),
      tracker_(options_.stale_after_seconds) {
  counters_.errors["discovery"] = 0;
  if (metadata_.relay) counters_.errors["relay"] = 0;
  for (const auto& c : collectors_) {
    counters_.errors[std::string(c->name())] = 0;
    counters_.collector_seconds[std::string(c->name())] = 0;
  }
  counters_.vanished["pod"] = 0;
  counters_.vanished["container"] = 0;
}

Sampler::~Sampler() {
  Stop();
  if (startup_watcher_) startup_watcher_->Stop();
}

void Sampler::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Sampler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sampler::Loop() {
  auto next = std::chrono::steady_clock::now();
  while (true) {
    SampleOnce();
    next += options_.interval;
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // a slow sample skips ticks instead of bunching them
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_until(lock, next, [this] { return stop_; })) return;
  }
}

void Sampler::EnsureMounts() {
  if (mounts_.version != CgroupMounts::Version::kNone) return;
  std::string path = JoinPath(options_.proc_root, "self/mountinfo");
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    ++counters_.errors["discovery"];
    Log(LogLevel::kError, "cannot read mount table: " + text.status().message());
    return;
  }
  auto mounts = ParseMountInfo(*text);
  if (!mounts.ok()) {
    ++counters_.errors["discovery"];
    Log(LogLevel::kError, path + ": " + mounts.status().message());
    return;
  }
  mounts_ = SelectCgroupMounts(*mounts, options_.cgroup_root);
  if (mounts_.version == CgroupMounts::Version::kNone) {
    ++counters_.errors["discovery"];
    Log(LogLevel::kError,
        "no cgroup v1 cpu/memory or cgroup2 mount under " + options_.cgroup_root + " in " + path);
    return;
  }
  const bool v2 = mounts_.version == CgroupMounts::Version::kV2;
  Log(LogLevel::kInfo, std::string("cgroup ") + (v2 ? "v2 at " + mounts_.unified : "v1") +
                           " found under " + options_.cgroup_root);
  oom_ = std::make_unique<OomAccounting>(v2 ? nullptr : std::make_unique<OomWatcher>());
  if (!v2) counters_.errors["oom_watch"] = 0;
  if (options_.watch_startups) StartStartupWatcher();
}

void Sampler::StartStartupWatcher() {
  const bool v2 = mounts_.version == CgroupMounts::Version::kV2;
  StartupWatcher::Options so;
  auto memory = mounts_.v1.find("memory");
  so.hierarchy_root =
      v2 ? mounts_.unified
         : (memory != mounts_.v1.end() ? memory->second : mounts_.v1.begin()->second);
  so.proc_root = options_.proc_root;
  so.timeout = options_.startup_timeout;
  // v1: the OOM watcher registers a new container's eventfd as its memory cgroup appears, so an
  // OOM kill in its first second counts although no sample ever saw it.
  OomWatcher* oom_watcher = oom_ ? oom_->watcher() : nullptr;
  if (oom_watcher && memory != mounts_.v1.end() && so.hierarchy_root == memory->second) {
    so.on_new_container = [oom_watcher](const NewContainerCgroup& c) {
      oom_watcher->WatchNew({c.pod_uid, c.container_id, c.dir});
    };
  }
  startup_watcher_ = std::make_unique<StartupWatcher>(so);
  Status s = startup_watcher_->Start();
  if (!s.ok()) {
    Log(LogLevel::kWarn, "start-up latency unavailable: " + s.message());
    startup_watcher_.reset();
  } else if (!startup_watcher_->precise_exec_times()) {
    Log(LogLevel::kWarn, "no kernel process connector (" + startup_watcher_->connector_error() +
                             "; it needs CAP_NET_ADMIN and the host's network namespace): "
                             "start-ups are measured from the fork in /proc (clock=\"fork\", "
                             "10 ms ticks), not the exec");
  }
}

// Keeps the trees for the self-metrics; logs which are read whenever that changes.
void Sampler::NoteKubepodsTrees(std::vector<KubepodsTree> trees) {
  std::string read, left_out;
  for (const KubepodsTree& t : trees) (t.read ? read : left_out) += " " + t.path;
  std::string summary = "kubepods trees read:" + (read.empty() ? " none" : read);
  if (!left_out.empty()) {
    summary += "; left out (not the kubelet's, see --kubelet-cgroup-root):" + left_out;
  }
  if (summary != last_trees_logged_) {
    Log(left_out.empty() ? LogLevel::kInfo : LogLevel::kWarn, summary);
    last_trees_logged_ = summary;
  }
  counters_.kubepods_trees = std::move(trees);
}

// Step 1, read: discover the pod cgroups and run the collectors on each; counts what failed.
// The pod sandboxes are dropped (with `meta`, the latest pod list) before anything counts them.
std::vector<PodSample> Sampler::Read(const std::vector<PodMeta>* meta) {
  EnsureMounts();
  if (mounts_.version == CgroupMounts::Version::kNone) return {};
  ReadStats stats;
  auto discovery = discovery_.Get(mounts_);
  counters_.cgroup_walks = discovery_.walks();
  if (!discovery_.watching() && !logged_not_watching_) {
    Log(LogLevel::kWarn, "the cgroup tree is walked every sample (its changes cannot be watched: " +
                             discovery_.not_watching_reason() + ")");
    logged_not_watching_ = true;
  }
  if (!discovery.ok()) {
    ++counters_.errors["discovery"];
    Log(LogLevel::kWarn, "discovery: " + discovery.status().message());
    return {};
  }
  std::vector<PodSample> pods = ReadDiscovered(mounts_, **discovery, collectors_, &stats);
  for (const auto& [name, count] : stats.errors) counters_.errors[name] += count;
  counters_.collector_seconds = stats.collector_seconds;
  counters_.vanished["pod"] += stats.vanished_pods;
  counters_.vanished["container"] += stats.vanished_containers;
  for (const std::string& rel_path : stats.vanished) {
    Log(LogLevel::kDebug, "cgroup vanished during the sample: " + rel_path);
  }
  for (const std::string& msg : stats.failures) {
    if (msg != last_error_logged_) Log(LogLevel::kWarn, msg);
    last_error_logged_ = msg;
  }
  NoteKubepodsTrees(std::move(stats.trees));
  DropSandboxes(meta, &pods);
  counters_.discovered_pods = pods.size();
  counters_.discovered_containers = 0;
  for (const PodSample& pod : pods) counters_.discovered_containers += pod.containers.size();
  counters_.kept_open_files = KeptOpenFiles();
  return pods;
}

// Step 2, join: OOM totals, start-ups and pod metadata (`meta`: null when none) onto what was read.
std::vector<PodNames> Sampler::Join(const std::vector<PodSample>& pods,
                                    const std::vector<PodMeta>* meta) {
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (oom_) {
    // Containers the OOM watcher could not watch (v1 only) still count from the sample's reads.
    size_t unwatched = oom_->Observe(pods, mounts_);
    if (unwatched > 0) counters_.errors["oom_watch"] += unwatched;
    // A pod whose kill the watcher read after its cgroups were gone is served and forgotten too.
    for (const auto& [uid, kills] : oom_->totals()) tracker_.TrackUnseen(uid, now);
  }
  if (startup_watcher_) {
    std::map<std::string, StartupRecord> records;
    for (const StartupMeasurement& m : startup_watcher_->TakeFinished()) {
      StartupRecord r;
      r.pod_uid = m.pod_uid;
      r.start_time = m.start_unix_seconds;
      r.startup_seconds = m.startup_seconds;
      r.clock = StartupClockName(m.clock);
      records.emplace(m.container_id, r);
    }
    tracker_.AddStartups(records);
    counters_.startup_watch = startup_watcher_->stats();
  }
  std::vector<PodNames> names = tracker_.Join(pods, meta, now);
  if (oom_) {
    for (const std::string& uid : tracker_.forgotten()) oom_->Forget(uid);
  }
  return names;
}

// Step 3, build: every family of /metrics, sorted by name; the resource families (most of the
// series) are written straight into the text by Publish.
Sampler::Built Sampler::Build(const std::vector<PodSample>& pods,
                              const std::vector<PodNames>& names,
                              std::chrono::steady_clock::time_point start) {
  Built built;
  built.direct = ResourceFamilies(pods, names, rows_);
  FamilyBuilder b;
  static const std::map<std::string, uint64_t> kNoOomKills;
  AddTrackerMetrics(tracker_, oom_ ? oom_->totals() : kNoOomKills, &b);
  if (oom_) AddOomSourceMetrics(oom_->counted_by_source(), &b);
  if (metadata_.error_counts) {
    for (const auto& [reason, count] : metadata_.error_counts()) {
      b.Counter("podmeter_pod_source_errors_total",
                "Pod metadata fetches that failed (the last good metadata is kept), by reason.",
                {{"reason", reason}}, static_cast<double>(count));
    }
  }
  if (metadata_.http_drops) {
    for (const auto& [reason, count] : metadata_.http_drops()) {
      b.Counter("podmeter_http_connections_dropped_total",
                "Client connections the HTTP server closed before answering them, by reason.",
                {{"reason", reason}}, static_cast<double>(count));
    }
  }
  ++counters_.samples;
  counters_.last_duration_seconds = SecondsSince(start);
  AddSelfMetrics(counters_, options_.version, &b);
  std::shared_ptr<const RelaySnapshot> relay;
  if (metadata_.relay) relay = metadata_.relay();
  if (relay) AddRelayMetrics(*relay, &b);
  built.families = b.Take();
  // Type conflicts are counted from the next sample on. The relay refuses podmeter_* families,
  // so none meets a direct one.
  if (relay) counters_.errors["relay"] += MergeRelayed(relay->families, &built.families);
  return built;
}

void Sampler::SampleOnce() {
  {
    auto start = std::chrono::steady_clock::now();
    std::shared_ptr<const std::vector<PodMeta>> meta;
    if (metadata_.latest) meta = metadata_.latest();
    std::vector<PodSample> pods = Read(meta.get());
    std::vector<PodNames> names = Join(pods, meta.get());
    Built built = Build(pods, names, start);
    store_->Publish(built.families, built.direct);
  }
  // The sample's intermediate structs are freed by now: give the heap's free pages back, so
  // private memory stays what the snapshot and the tracker hold (docs/performance.md).
  ::malloc_trim(0);
}

}  // namespace podmeter
