#include "exporter/sampler.h"

#include <algorithm>

#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/cgroup_dirs.h"
#include "collectors/cgroupfs/cgroup_discovery.h"
#include "exporter/family_builder.h"
#include "exporter/log.h"
#include "exporter/resource_metrics.h"
#include "exporter/self_stats.h"
#include "exporter/tracker_metrics.h"

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
      tracker_(options_.stale_after_seconds) {
  errors_["discovery"] = 0;
  if (metadata_.relay) errors_["relay"] = 0;
  for (const auto& c : collectors_) {
    errors_[std::string(c->name())] = 0;
    collector_seconds_[std::string(c->name())] = 0;
  }
  vanished_["pod"] = 0;
  vanished_["container"] = 0;
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
    ++errors_["discovery"];
    Log(LogLevel::kError, "cannot read mount table: " + text.status().message());
    return;
  }
  auto mounts = ParseMountInfo(*text);
  if (!mounts.ok()) {
    ++errors_["discovery"];
    Log(LogLevel::kError, path + ": " + mounts.status().message());
    return;
  }
  mounts_ = SelectCgroupMounts(*mounts, options_.cgroup_root);
  if (mounts_.version == CgroupMounts::Version::kNone) {
    ++errors_["discovery"];
    Log(LogLevel::kError,
        "no cgroup v1 cpu/memory or cgroup2 mount under " + options_.cgroup_root + " in " + path);
    return;
  }
  const bool v2 = mounts_.version == CgroupMounts::Version::kV2;
  Log(LogLevel::kInfo, std::string("cgroup ") + (v2 ? "v2 at " + mounts_.unified : "v1") +
                           " found under " + options_.cgroup_root);
  if (!v2) {
    oom_watcher_ = std::make_unique<OomWatcher>();
    errors_["oom_watch"] = 0;
  }
  if (!options_.watch_startups) return;
  StartupWatcher::Options so;
  auto memory = mounts_.v1.find("memory");
  so.hierarchy_root =
      v2 ? mounts_.unified
         : (memory != mounts_.v1.end() ? memory->second : mounts_.v1.begin()->second);
  so.proc_root = options_.proc_root;
  so.timeout = options_.startup_timeout;
  startup_watcher_ = std::make_unique<StartupWatcher>(so);
  Status s = startup_watcher_->Start();
  if (!s.ok()) {
    Log(LogLevel::kWarn, "start-up latency unavailable: " + s.message());
    startup_watcher_.reset();
  } else if (!startup_watcher_->precise_exec_times()) {
    Log(LogLevel::kWarn,
        "no access to the kernel process connector (needs CAP_NET_ADMIN): start-up times use "
        "/proc start times (clock ticks)");
  }
}

bool Sampler::CollectCgroup(const std::string& rel_path, bool is_pod, CgroupSample* out) {
  CgroupDirs dirs = ResolveCgroupDirs(mounts_, rel_path);
  for (const auto& collector : collectors_) {
    if (is_pod && !collector->reads_pods()) continue;
    auto start = std::chrono::steady_clock::now();
    Status s = collector->Collect(dirs, out);
    collector_seconds_[std::string(collector->name())] += SecondsSince(start);
    if (s.ok()) continue;
    if (s.IsNotFound()) {
      ++vanished_[is_pod ? "pod" : "container"];
      Log(LogLevel::kDebug, "cgroup vanished during the sample: " + rel_path);
    } else {
      ++errors_[std::string(collector->name())];
      std::string msg =
          std::string(collector->name()) + " collector on " + rel_path + ": " + s.message();
      if (msg != last_error_logged_) Log(LogLevel::kWarn, msg);
      last_error_logged_ = msg;
    }
    return false;
  }
  return true;
}

std::vector<PodSample> Sampler::ReadPods() {
  std::vector<PodSample> out;
  EnsureMounts();
  if (mounts_.version == CgroupMounts::Version::kNone) return out;
  memory_dirs_.clear();
  auto pods = DiscoverPods(mounts_);
  if (!pods.ok()) {
    ++errors_["discovery"];
    Log(LogLevel::kWarn, "discovery: " + pods.status().message());
    return out;
  }
  for (auto& [name, seconds] : collector_seconds_) seconds = 0;
  discovered_pods_ = 0;
  discovered_containers_ = 0;
  for (const PodCgroup& pod : *pods) {
    PodSample ps;
    ps.uid = pod.uid;
    ps.name = pod.uid;
    ps.qos = pod.qos;
    if (!CollectCgroup(pod.rel_path, /*is_pod=*/true, &ps.data)) continue;
    for (const ContainerCgroup& c : pod.containers) {
      ContainerSample cs;
      cs.id = c.id;
      cs.name = c.id.substr(0, 12);
      cs.runtime = c.runtime;
      if (!CollectCgroup(c.rel_path, /*is_pod=*/false, &cs.data)) continue;
      if (oom_watcher_) memory_dirs_[c.id] = ResolveCgroupDirs(mounts_, c.rel_path).memory;
      if (cs.data.processes && cs.data.processes->is_pause) continue;  // the pod sandbox
      ps.containers.push_back(std::move(cs));
    }
    ++discovered_pods_;
    discovered_containers_ += ps.containers.size();
    out.push_back(std::move(ps));
  }
  return out;
}

void Sampler::CountOomKills(std::vector<PodSample>* pods) {
  if (!oom_watcher_) {  // v2: the pod's memory.events is hierarchical
    for (PodSample& pod : *pods) {
      if (pod.data.memory && pod.data.memory->oom_kills)
        pod.oom_kills = *pod.data.memory->oom_kills;
    }
    return;
  }
  std::vector<OomWatcher::Container> living;
  for (const PodSample& pod : *pods) {
    for (const ContainerSample& c : pod.containers) {
      auto dir = memory_dirs_.find(c.id);
      if (dir == memory_dirs_.end()) continue;
      std::optional<uint64_t> kills;
      if (c.data.memory) kills = c.data.memory->oom_kills;
      living.push_back({pod.uid, c.id, dir->second, kills});
    }
  }
  // Containers whose OOM eventfd could not be registered still get the sampler's 1 s reads.
  errors_["oom_watch"] += oom_watcher_->Sync(living);
  for (PodSample& pod : *pods) pod.oom_kills = oom_watcher_->PodOomKills(pod.uid);
}

void Sampler::AddRelay(FamilyBuilder* b, std::vector<prometheus::MetricFamily>* families) {
  std::shared_ptr<const RelaySnapshot> snap = metadata_.relay();
  if (!snap) return;
  for (const RelayPodResult& p : snap->pods) {
    Labels labels = {{"namespace", p.target.namespace_name}, {"pod", p.target.pod}};
    b->Gauge("podmeter_relay_up", "1 when the pod's metrics were fetched and parsed this round.",
             labels, p.up ? 1 : 0);
    b->Gauge("podmeter_relay_series", "Series relayed for the pod.", labels,
             static_cast<double>(p.series));
  }
  b->Gauge("podmeter_relay_duration_seconds",
           "Duration of the last relay round (all pods, in parallel), in seconds.", {},
           snap->round_seconds);
  for (const auto& [reason, count] : snap->errors) {
    b->Counter("podmeter_relay_errors_total",
               "Relay fetches that failed or were refused, by reason.", {{"reason", reason}},
               static_cast<double>(count));
  }
  *families = snap->families;
}

void Sampler::SampleOnce() {
  auto start = std::chrono::steady_clock::now();
  std::vector<PodSample> pods = ReadPods();
  CountOomKills(&pods);
  if (startup_watcher_) {
    std::map<std::string, StartupRecord> records;
    for (const StartupMeasurement& m : startup_watcher_->TakeFinished()) {
      StartupRecord r;
      r.pod_uid = m.pod_uid;
      r.start_time = m.exec_unix_seconds;
      if (m.startup_seconds >= 0) r.startup_seconds = m.startup_seconds;
      records.emplace(m.container_id, r);
    }
    tracker_.AddStartups(records);
  }
  std::shared_ptr<const std::vector<PodMeta>> meta;
  if (metadata_.latest) meta = metadata_.latest();
  tracker_.Update(
      &pods, meta.get(),
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  if (oom_watcher_) {
    for (const std::string& uid : tracker_.forgotten()) oom_watcher_->Forget(uid);
  }
  FamilyBuilder b;
  AddResourceMetrics(pods, rows_, &b);
  AddTrackerMetrics(tracker_, &b);
  if (metadata_.error_counts) {
    for (const auto& [reason, count] : metadata_.error_counts()) {
      b.Counter("podmeter_pod_source_errors_total",
                "Pod metadata fetches that failed (the last good metadata is kept), by reason.",
                {{"reason", reason}}, static_cast<double>(count));
    }
  }

  ++samples_;
  last_duration_seconds_ = SecondsSince(start);
  b.Gauge("podmeter_build_info", "podmeter's version; always 1.", {{"version", options_.version}},
          1);
  b.Counter("podmeter_samples_total", "Samples completed.", {}, static_cast<double>(samples_));
  b.Gauge("podmeter_sample_duration_seconds", "Duration of the last complete sample, in seconds.",
          {}, last_duration_seconds_);
  for (const auto& [name, seconds] : collector_seconds_) {
    b.Gauge("podmeter_collector_duration_seconds",
            "Time the collector spent in the last sample, in seconds.", {{"collector", name}},
            seconds);
  }
  for (const auto& [name, count] : errors_) {
    b.Counter("podmeter_sample_errors_total",
              "Reads that failed (cgroup left out of that sample), by collector.",
              {{"collector", name}}, static_cast<double>(count));
  }
  for (const auto& [level, count] : vanished_) {
    b.Counter(
        "podmeter_vanished_cgroups_total",
        "Pod or container cgroups that disappeared while being read (left out of that sample).",
        {{"level", level}}, static_cast<double>(count));
  }
  b.Gauge("podmeter_discovered_pods", "Pod cgroups in the last sample.", {},
          static_cast<double>(discovered_pods_));
  b.Gauge("podmeter_discovered_containers",
          "Container cgroups in the last sample (pod sandboxes excluded).", {},
          static_cast<double>(discovered_containers_));
  SelfStats self;
  if (ReadSelfStats(&self)) {
    b.Counter("process_cpu_seconds_total", "podmeter's own user and system CPU time, in seconds.",
              {}, self.cpu_seconds);
    b.Gauge("process_resident_memory_bytes", "podmeter's own resident memory, in bytes.", {},
            static_cast<double>(self.resident_bytes));
    b.Gauge("process_start_time_seconds", "podmeter's start time since the unix epoch, in seconds.",
            {}, self.start_time_seconds);
  }
  std::vector<prometheus::MetricFamily> relayed;
  if (metadata_.relay) AddRelay(&b, &relayed);
  auto families = b.Take();
  if (!relayed.empty()) {
    // Relayed families go beside podmeter's own; one that shares a name (e.g. a Go server's
    // process_* next to podmeter's) joins that family when the types agree.
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < families.size(); ++i) index[families[i].name] = i;
    for (auto& f : relayed) {
      auto it = index.find(f.name);
      if (it == index.end()) {
        families.push_back(std::move(f));
      } else if (families[it->second].type == f.type) {
        auto& into = families[it->second].metric;
        into.insert(into.end(), std::make_move_iterator(f.metric.begin()),
                    std::make_move_iterator(f.metric.end()));
      } else {
        ++errors_["relay"];  // counted from the next sample on
      }
    }
    std::sort(families.begin(), families.end(),
              [](const auto& a, const auto& c) { return a.name < c.name; });
  }
  store_->Publish(std::make_shared<const SnapshotStore::Families>(std::move(families)));
}

}  // namespace podmeter
