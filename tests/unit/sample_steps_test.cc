// The steps of one sample, each on its own: read (ReadPods on a fixture tree), the sandbox filter,
// OOM accounting,
// build (AddResourceMetrics over the readers' rows) and the relay merge. The join
// (PodTracker::Join) is tested in pod_tracker_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/mountinfo.h"
#include "collectors/readers/collector.h"
#include "collectors/readers/pod_reader.h"
#include "collectors/readers/process_table.h"
#include "exporter/family_builder.h"
#include "exporter/relay_metrics.h"
#include "exporter/resource_metrics.h"
#include "exporter/text_format.h"
#include "tracking/oom_accounting.h"
#include "tracking/sandbox_filter.h"

namespace podmeter {
namespace {

namespace fs = std::filesystem;

const fs::path kTree = fs::path(PODMETER_FIXTURES_DIR) / "v1-cgroupfs";
const char kRustPod[] = "kubepods/pod0f6c9a52-4c7e-4d3b-9c1e-2b7a8e6d5f41";
const std::string kIdRust = "0101010101010101010101010101010101010101010101010101010101010101";
const std::string kIdSandbox = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t Number(const fs::path& p) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseUint64(Read(p), &v)) << p;
  return v;
}

CgroupMounts FixtureMounts() {
  auto mounts = ParseMountInfo(Read(kTree / "proc/self/mountinfo"));
  EXPECT_TRUE(mounts.ok());
  return SelectCgroupMounts(mounts.value(), (kTree / "sys/fs/cgroup").string());
}

TEST(ReadStep, ReadsEveryPodAndContainerAndMarksThePauseOnes) {
  auto table = NewProcfsProcessTable((kTree / "proc").string());
  auto collectors = BuildCollectors({}, table.get());
  ASSERT_TRUE(collectors.ok());
  ReadStats stats;
  auto pods = ReadPods(FixtureMounts(), {}, collectors.value(), &stats);
  ASSERT_TRUE(pods.ok()) << pods.status().message();
  ASSERT_EQ(pods->size(), 3u);
  EXPECT_EQ((*pods)[0].uid, "0f6c9a52-4c7e-4d3b-9c1e-2b7a8e6d5f41");  // sorted by uid
  EXPECT_EQ((*pods)[0].qos, QosClass::kGuaranteed);
  ASSERT_EQ((*pods)[0].containers.size(), 2u);
  const ContainerSample& rust = (*pods)[0].containers[0];
  const ContainerSample& sandbox = (*pods)[0].containers[1];  // a0a0…: the pod's pause
  EXPECT_EQ(sandbox.id, kIdSandbox);
  ASSERT_TRUE(sandbox.data.processes.has_value());
  EXPECT_TRUE(sandbox.data.processes->is_pause);
  EXPECT_FALSE(rust.data.processes->is_pause);
  EXPECT_EQ(rust.id, kIdRust);
  EXPECT_EQ(rust.rel_path, std::string(kRustPod) + "/" + kIdRust);
  // Values straight from the fixture's files.
  const fs::path cg = kTree / "sys/fs/cgroup";
  EXPECT_EQ((*pods)[0].data.memory->usage_bytes,
            Number(cg / "memory" / kRustPod / "memory.usage_in_bytes"));
  EXPECT_DOUBLE_EQ(
      rust.data.cpu->usage_seconds,
      static_cast<double>(Number(cg / "cpu,cpuacct" / kRustPod / kIdRust / "cpuacct.usage")) / 1e9);
  EXPECT_EQ(rust.data.memory->rss_bytes, 8437760u);  // total_rss of its memory.stat
  EXPECT_EQ(rust.data.processes->processes, 1u);
  EXPECT_FALSE((*pods)[0].data.processes.has_value());  // "processes" does not read pods
  EXPECT_TRUE(stats.failures.empty());
  EXPECT_EQ(stats.errors.count("memory"), 0u);
  EXPECT_EQ(stats.collector_seconds.size(), 5u);  // cpu, memory, processes, pids, pressure
}

TEST(ReadStep, AMalformedFileLeavesTheContainerOutWithTheReason) {
  fs::path dir = fs::temp_directory_path() / ("podmeter-read-step-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(kTree, dir, fs::copy_options::recursive);
  std::ofstream(dir / "sys/fs/cgroup/memory" / kRustPod / kIdRust / "memory.stat") << "garbage\n";
  auto table = NewProcfsProcessTable((dir / "proc").string());
  auto collectors = BuildCollectors({}, table.get());
  ASSERT_TRUE(collectors.ok());
  auto mounts = ParseMountInfo(Read(dir / "proc/self/mountinfo"));
  ASSERT_TRUE(mounts.ok());
  ReadStats stats;
  auto pods = ReadPods(SelectCgroupMounts(*mounts, (dir / "sys/fs/cgroup").string()), {},
                       collectors.value(), &stats);
  fs::remove_all(dir);
  ASSERT_TRUE(pods.ok());
  ASSERT_EQ(pods->size(), 3u);
  ASSERT_EQ((*pods)[0].containers.size(), 1u);  // the rust container is out
  EXPECT_EQ((*pods)[0].containers[0].id, kIdSandbox);
  EXPECT_EQ(stats.errors["memory"], 1u);
  ASSERT_EQ(stats.failures.size(), 1u);
  EXPECT_NE(stats.failures[0].find("memory collector on " + std::string(kRustPod)),
            std::string::npos)
      << stats.failures[0];
}

// A pod with one container per {id, only process is pause}.
PodSample PodWithContainers(const std::string& uid, std::vector<std::pair<std::string, bool>> cs) {
  PodSample p;
  p.uid = uid;
  for (const auto& [id, pause] : cs) {
    ContainerSample c;
    c.id = id;
    c.data.processes = ProcessSample{};
    c.data.processes->processes = 1;
    c.data.processes->is_pause = pause;
    p.containers.push_back(c);
  }
  return p;
}

PodMeta ListedPod(const std::string& uid, std::vector<std::string> container_ids) {
  PodMeta m;
  m.uid = uid;
  for (const std::string& id : container_ids) {
    ContainerMeta c;
    c.name = "c" + std::to_string(m.containers.size());
    c.container_id = id;
    m.containers.push_back(c);
  }
  return m;
}

std::vector<std::string> Ids(const PodSample& pod) {
  std::vector<std::string> ids;
  for (const ContainerSample& c : pod.containers) ids.push_back(c.id);
  return ids;
}

TEST(SandboxFilter, AListedContainerRunningThePauseImageStaysTheSandboxGoes) {
  const std::string sandbox(64, 'a'), user_pause(64, 'b'), server(64, 'c');
  std::vector<PodSample> pods = {
      PodWithContainers("uid-1", {{sandbox, true}, {user_pause, true}, {server, false}})};
  std::vector<PodMeta> meta = {ListedPod("uid-1", {user_pause, server})};
  DropSandboxes(&meta, &pods);
  EXPECT_EQ(Ids(pods[0]), (std::vector<std::string>{user_pause, server}));
}

TEST(SandboxFilter, WithoutTheMetadataEveryPauseOnlyContainerIsTakenForTheSandbox) {
  const std::string sandbox(64, 'a'), user_pause(64, 'b'), server(64, 'c');
  std::vector<PodSample> pods = {
      PodWithContainers("uid-1", {{sandbox, true}, {user_pause, true}, {server, false}}),
      PodWithContainers("uid-2", {{sandbox, true}, {server, false}})};
  DropSandboxes(nullptr, &pods);
  EXPECT_EQ(Ids(pods[0]), std::vector<std::string>{server});
  // A pod not listed yet (the list lags behind the cgroups): the same.
  pods = {PodWithContainers("uid-2", {{user_pause, true}, {server, false}})};
  std::vector<PodMeta> meta = {ListedPod("uid-1", {user_pause})};
  DropSandboxes(&meta, &pods);
  EXPECT_EQ(Ids(pods[0]), std::vector<std::string>{server});
}

TEST(SandboxFilter, AContainerNotListedYetStaysUnlessItRunsOnlyPause) {
  const std::string sandbox(64, 'a'), fresh(64, 'd'), server(64, 'c');
  std::vector<PodSample> pods = {
      PodWithContainers("uid-1", {{sandbox, true}, {fresh, false}, {server, false}})};
  std::vector<PodMeta> meta = {ListedPod("uid-1", {server})};
  DropSandboxes(&meta, &pods);
  EXPECT_EQ(Ids(pods[0]), (std::vector<std::string>{fresh, server}));
  // No process figures (the processes collector off): never taken for a sandbox.
  pods = {PodWithContainers("uid-1", {{sandbox, true}})};
  pods[0].containers[0].data.processes.reset();
  DropSandboxes(nullptr, &pods);
  EXPECT_EQ(pods[0].containers.size(), 1u);
}

PodSample PodWithKills(const std::string& uid, std::optional<uint64_t> pod_kills,
                       std::vector<std::pair<std::string, std::optional<uint64_t>>> containers) {
  PodSample p;
  p.uid = uid;
  p.data.memory = MemorySample{};
  p.data.memory->oom_kills = pod_kills;
  for (const auto& [id, kills] : containers) {
    ContainerSample c;
    c.id = id;
    c.rel_path = "kubepods/pod" + uid + "/" + id;
    c.data.memory = MemorySample{};
    c.data.memory->oom_kills = kills;
    p.containers.push_back(c);
  }
  return p;
}

// v2: memory.events of a pod and its memory.oom.group containers, {id, oom_kill, oom_group_kill}.
PodSample PodWithEvents(const std::string& uid,
                        std::vector<std::tuple<std::string, uint64_t, uint64_t>> containers) {
  PodSample p;
  p.uid = uid;
  p.data.memory = MemorySample{};
  p.data.memory->events = MemoryEvents{};
  for (const auto& [id, kills, group_kills] : containers) {
    ContainerSample c;
    c.id = id;
    c.data.memory = MemorySample{};
    c.data.memory->oom_group = true;
    c.data.memory->events = MemoryEvents{};
    c.data.memory->events->oom_kill = kills;
    c.data.memory->events->oom_group_kill = group_kills;
    p.data.memory->events->oom_kill += kills;  // hierarchical
    p.data.memory->events->oom_group_kill =
        p.data.memory->events->oom_group_kill.value_or(0) + group_kills;
    p.containers.push_back(c);
  }
  return p;
}

TEST(OomAccounting, V2CountsContainerOomEventsAndNeverGoesDown) {
  OomAccounting oom(nullptr);
  CgroupMounts v2;
  v2.version = CgroupMounts::Version::kV2;
  v2.unified = "/nonexistent";
  // One group kill of a 5-process container: Linux 6.1 counts oom_kill 6.
  EXPECT_EQ(oom.Observe({PodWithEvents("a", {{"c1", 6, 1}})}, v2), 0u);
  EXPECT_EQ(oom.totals().at("a"), 1u);
  oom.Observe({PodWithEvents("a", {{"c2", 0, 0}})}, v2);  // c1 removed, c2 in its place
  EXPECT_EQ(oom.totals().at("a"), 1u);
  oom.Observe({}, v2);  // gone: kept until forgotten
  EXPECT_EQ(oom.totals().at("a"), 1u);
  oom.Forget("a");
  EXPECT_EQ(oom.totals().count("a"), 0u);
}

// v1 from a fixture tree (not cgroupfs: no eventfds, each container's memory.oom_control read at
// the sample).
TEST(OomAccounting, V1SumsTheContainersLivingAndRemoved) {
  std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("podmeter-oom-" + std::to_string(::getpid()));
  auto write_kills = [&](const std::string& id, int kills) {
    std::filesystem::path dir = root / "kubepods" / "poda" / id;
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "memory.oom_control")
        << "oom_kill_disable 0\nunder_oom 0\noom_kill " << kills << "\n";
  };
  OomAccounting oom(std::make_unique<OomWatcher>());
  CgroupMounts v1;
  v1.version = CgroupMounts::Version::kV1;
  v1.v1["memory"] = root.string();
  write_kills("c1", 1);
  write_kills("c2", 0);
  oom.Observe({PodWithKills("a", 0, {{"c1", 0}, {"c2", 0}})}, v1);
  EXPECT_EQ(oom.totals().at("a"), 1u);
  // c1 is replaced by c3 (its cgroup removed); c2 is killed twice. The samples' own
  // oom_kills (none on v1 now) are not what counts.
  std::filesystem::remove_all(root / "kubepods" / "poda" / "c1");
  write_kills("c2", 2);
  write_kills("c3", 0);
  oom.Observe({PodWithKills("a", 0, {{"c2", 7}, {"c3", std::nullopt}})}, v1);
  EXPECT_EQ(oom.totals().at("a"), 3u);
  EXPECT_EQ(oom.counted_by_source().at("sample"), 3u);
  std::filesystem::remove_all(root);
}

TEST(BuildStep, ResourceSeriesCarryTheJoinedNamesAndOnlyValuesRead) {
  auto collectors = BuildCollectors({}, nullptr);
  ASSERT_TRUE(collectors.ok());
  PodSample pod;
  pod.uid = "u";
  pod.data.memory = MemorySample{};
  pod.data.memory->usage_bytes = 1000;
  pod.data.memory->limit_bytes = 4096;
  ContainerSample c;
  c.id = kIdRust;
  c.data.cpu = CpuSample{};
  c.data.cpu->usage_seconds = 1.5;  // no limit: no cpu_limit_cores series
  pod.containers.push_back(c);
  PodNames names{"bench", "web-0", {"web"}};
  FamilyBuilder b;
  AddResourceMetrics({pod}, {names}, ResourceRows(collectors.value()), &b);
  std::string text = SerializeText(b.Take());
  EXPECT_NE(text.find("podmeter_pod_memory_limit_bytes{namespace=\"bench\",pod=\"web-0\"} 4096"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("podmeter_container_cpu_usage_seconds_total{namespace=\"bench\",pod=\"web-0\","
                "container=\"web\"} 1.5"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("cpu_limit_cores"), std::string::npos);
  EXPECT_EQ(text.find("podmeter_pod_cpu"), std::string::npos);  // the pod's cpu was not read
  EXPECT_EQ(text.find("processes"), std::string::npos);
}

// Pods out of order, a label value to escape, values that are not integers, rows read for one
// container only: the families written straight into the text are byte for byte what the
// families built series by series serialize to, and they merge with other families by name.
TEST(BuildStep, ResourceFamiliesWrittenDirectlyAreTheTextOfTheBuiltOnes) {
  auto collectors = BuildCollectors({}, nullptr);
  ASSERT_TRUE(collectors.ok());
  const auto rows = ResourceRows(collectors.value());
  auto make_pod = [](const char* uid, double usage, std::vector<std::optional<double>> cpus) {
    PodSample pod;
    pod.uid = uid;
    pod.data.memory = MemorySample{};
    pod.data.memory->usage_bytes = static_cast<uint64_t>(usage);
    for (size_t i = 0; i < cpus.size(); ++i) {
      ContainerSample c;
      c.id = kIdRust;
      if (cpus[i]) {
        c.data.cpu = CpuSample{};
        c.data.cpu->usage_seconds = *cpus[i];
        c.data.cpu->user_seconds = *cpus[i] / 3;
      }
      pod.containers.push_back(c);
    }
    return pod;
  };
  std::vector<PodSample> pods = {make_pod("u2", 7e9, {0.1, std::nullopt}),
                                 make_pod("u1", 1000, {1.0 / 3, 2.5e-7}), make_pod("u3", 12, {})};
  std::vector<PodNames> names = {{"zeta", "web-1", {"b", "a"}},
                                 {"alpha", "quote\"back\\slash\nnl", {"web", "side"}},
                                 {"alpha", "api-0", {}}};
  FamilyBuilder b;
  AddResourceMetrics(pods, names, rows, &b);
  b.Gauge("podmeter_build_info", "Build.", {{"version", "x"}}, 1);
  b.Gauge("podmeter_zz_last", "Last.", {}, 2);
  auto built = b.Take();
  const std::string want = SerializeText(built);
  std::vector<prometheus::MetricFamily> others;
  for (auto& f : built) {
    if (f.name.rfind("podmeter_pod_", 0) != 0 && f.name.rfind("podmeter_container_", 0) != 0) {
      others.push_back(f);
    }
  }
  ASSERT_EQ(others.size(), 2u);
  const std::string got = SerializeText(others, ResourceFamilies(pods, names, rows), want.size());
  EXPECT_EQ(got, want);
  EXPECT_NE(got.find("pod=\"quote\\\"back\\\\slash\\nnl\""), std::string::npos) << got;
}

prometheus::MetricFamily Family(const std::string& name, prometheus::MetricType type, double v) {
  prometheus::MetricFamily f;
  f.name = name;
  f.type = type;
  prometheus::ClientMetric m;
  m.gauge.value = v;
  m.counter.value = v;
  f.metric.push_back(m);
  return f;
}

TEST(BuildStep, RelayedFamiliesSitBesideAndNeverJoinPodmetersOwn) {
  std::vector<prometheus::MetricFamily> own = {
      Family("a_total", prometheus::MetricType::Counter, 1),
      Family("process_cpu_seconds_total", prometheus::MetricType::Counter, 2)};
  std::vector<prometheus::MetricFamily> relayed = {
      Family("process_cpu_seconds_total", prometheus::MetricType::Counter, 3),
      Family("a_total", prometheus::MetricType::Gauge, 4),
      Family("http_requests_total", prometheus::MetricType::Counter, 5)};
  EXPECT_EQ(MergeRelayed(relayed, &own), 2u);
  ASSERT_EQ(own.size(), 3u);
  EXPECT_EQ(own[0].name, "a_total");
  EXPECT_EQ(own[0].metric.size(), 1u);  // the gauge of the same name was dropped
  EXPECT_EQ(own[1].name, "http_requests_total");
  EXPECT_EQ(own[2].name, "process_cpu_seconds_total");
  ASSERT_EQ(own[2].metric.size(), 1u);  // the relayed counter of the same name was dropped
  EXPECT_EQ(own[2].metric[0].counter.value, 2);
}

}  // namespace
}  // namespace podmeter
