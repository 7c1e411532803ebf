// Benchmarks of the sampler's hot path: parsers, one whole sample over N synthetic pods (read,
// join, build, render and gzip), the render and the gzip of 110 pods on their own, and one scrape
// (taking the published bytes). Run: build/bench/podmeter_bench `podmeter_bench --write-tree DIR
// PODS` writes the synthetic node instead (for running podmeter itself on it: --cgroup-root
// DIR/sys/fs/cgroup --proc-root DIR/proc; docs/performance.md).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "collectors/readers/cpu_stat.h"
#include "collectors/readers/memory_stat.h"
#include "collectors/readers/pod_reader.h"
#include "collectors/readers/process_table.h"
#include "exporter/family_builder.h"
#include "exporter/resource_metrics.h"
#include "exporter/sampler.h"
#include "exporter/text_format.h"

namespace podmeter {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A fixture process: its statm (pages: size resident shared text lib data dt) and comm.
void WriteProcess(const fs::path& proc, int pid) {
  Write(proc / std::to_string(pid) / "statm", "2500 600 400 10 0 300 0\n");
  Write(proc / std::to_string(pid) / "comm", "app\n");
}

// A cgroup v2 node under `root` with `pods` burstable pods of two containers each, and 9 processes
// per pod (4 and 5 in its containers: 990 at 110 pods, as in the synthetic node).
void WriteTree(const fs::path& root, int pods) {
  fs::remove_all(root);
  Write(root / "proc/self/mountinfo",
        "31 25 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
  auto cg = [&](const fs::path& d) {
    Write(d / "cpu.stat",
          "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 10\n"
          "nr_throttled 1\nthrottled_usec 500\n");
    Write(d / "cpu.max", "50000 100000\n");
    Write(d / "memory.current", "10485760\n");
    Write(d / "memory.stat", "anon 8388608\nfile 2097152\nkernel 4096\ninactive_file 1048576\n");
    Write(d / "memory.max", "max\n");
  };
  int next_pid = 1000;
  auto procs = [&](const fs::path& d, int n) {
    std::string pids;
    for (int i = 0; i < n; ++i, ++next_pid) {
      pids += std::to_string(next_pid) + "\n";
      WriteProcess(root / "proc", next_pid);
    }
    Write(d / "cgroup.procs", pids);
    Write(d / "cgroup.threads", pids);
  };
  for (int i = 0; i < pods; ++i) {
    char uid[40];
    std::snprintf(uid, sizeof(uid), "%08x_0000_4000_8000_%012x", i, i);
    fs::path pod = root / "sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice" /
                   ("kubepods-burstable-pod" + std::string(uid) + ".slice");
    cg(pod);
    procs(pod, 0);
    for (int c = 0; c < 2; ++c) {
      char id[65];
      std::snprintf(id, sizeof(id), "%064x", i * 2 + c + 1);
      cg(pod / ("cri-containerd-" + std::string(id) + ".scope"));
      procs(pod / ("cri-containerd-" + std::string(id) + ".scope"), 4 + c);
    }
  }
}

fs::path MakeTree(int pods) {
  fs::path root = fs::temp_directory_path() /
                  ("podmeter-bench-" + std::to_string(::getpid()) + "-" + std::to_string(pods));
  WriteTree(root, pods);
  return root;
}

void BM_ParseMemoryStatV1(benchmark::State& state) {
  std::string stat;
  for (const char* k : {"cache", "rss", "rss_huge", "shmem", "mapped_file", "dirty", "writeback",
                        "pgpgin", "pgpgout", "pgfault", "pgmajfault", "inactive_anon",
                        "active_anon", "inactive_file", "active_file", "unevictable"}) {
    stat += std::string(k) + " 123456\n";
    stat += std::string("total_") + k + " 123456\n";
  }
  for (auto _ : state) {
    MemorySample m;
    benchmark::DoNotOptimize(ParseMemoryV1("7000000\n", stat, &m));
  }
}
BENCHMARK(BM_ParseMemoryStatV1);

void BM_ParseCpuStatV2(benchmark::State& state) {
  const std::string stat =
      "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 40\n"
      "nr_throttled 7\nthrottled_usec 350000\nnr_bursts 0\nburst_usec 0\n";
  for (auto _ : state) {
    CpuSample c;
    benchmark::DoNotOptimize(ParseCpuStatV2(stat, &c));
  }
}
BENCHMARK(BM_ParseCpuStatV2);

// A sampler over a synthetic node of `pods` pods; the tree is removed with it.
class SyntheticNode {
 public:
  explicit SyntheticNode(int pods) : root_(MakeTree(pods)) {
    options_.cgroup_root = (root_ / "sys/fs/cgroup").string();
    options_.proc_root = (root_ / "proc").string();
    options_.watch_startups = false;
    table_ = NewProcfsProcessTable(options_.proc_root);
    auto collectors = BuildCollectors({}, table_.get());
    sampler_ = std::make_unique<Sampler>(options_, std::move(collectors.value()), &store_);
    store_.LatestGzip();  // a gzip client, as Prometheus: each sample's gzip is made with it
  }
  ~SyntheticNode() {
    sampler_.reset();
    fs::remove_all(root_);
  }
  Sampler& sampler() { return *sampler_; }
  SnapshotStore& store() { return store_; }

 private:
  fs::path root_;
  SamplerOptions options_;
  std::unique_ptr<ProcessTable> table_;
  SnapshotStore store_;
  std::unique_ptr<Sampler> sampler_;
};

// One whole sample: read, join, build, render and gzip, publish.
void BM_SampleOnce(benchmark::State& state) {
  SyntheticNode node(static_cast<int>(state.range(0)));
  for (auto _ : state) node.sampler().SampleOnce();
  state.counters["pods"] = static_cast<double>(state.range(0));
  // Seconds per pod (the growth from 30 to 250 pods should be flat).
  state.counters["per_pod"] = benchmark::Counter(
      static_cast<double>(state.range(0)),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SampleOnce)->Arg(30)->Arg(110)->Arg(250)->Unit(benchmark::kMicrosecond);

// The families of one sample of `pods` synthetic pods (read and build, names from the ids).
std::vector<prometheus::MetricFamily> Families(int pods) {
  fs::path root = MakeTree(pods);
  CgroupMounts mounts;
  mounts.version = CgroupMounts::Version::kV2;
  mounts.unified = (root / "sys/fs/cgroup").string();
  auto table = NewProcfsProcessTable((root / "proc").string());
  auto collectors = BuildCollectors({}, table.get());
  ReadStats stats;
  auto read = ReadPods(mounts, KubeletTreeOptions{}, collectors.value(), &stats);
  std::vector<PodNames> names;
  for (const PodSample& pod : read.value()) {
    PodNames n{"bench", "pod-" + pod.uid.substr(0, 8), {}};
    for (const ContainerSample& c : pod.containers) n.containers.push_back(c.id.substr(0, 12));
    names.push_back(n);
  }
  FamilyBuilder b;
  AddResourceMetrics(read.value(), names, ResourceRows(collectors.value()), &b);
  fs::remove_all(root);
  return b.Take();
}

void BM_Render(benchmark::State& state) {
  auto families = Families(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) bytes = SerializeText(families).size();
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Render)->Arg(110)->Unit(benchmark::kMicrosecond);

void BM_Gzip(benchmark::State& state) {
  const std::string text = SerializeText(Families(static_cast<int>(state.range(0))));
  size_t bytes = 0;
  for (auto _ : state) bytes = Gzip(text).size();
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["text_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_Gzip)->Arg(110)->Unit(benchmark::kMicrosecond);

// What a scrape does besides writing to its socket: take the latest published exposition.
void BM_Scrape(benchmark::State& state) {
  SyntheticNode node(static_cast<int>(state.range(0)));
  node.sampler().SampleOnce();
  size_t bytes = 0;
  for (auto _ : state) {
    std::shared_ptr<const Exposition> e = node.store().Latest();
    bytes = e->text.size();
    benchmark::DoNotOptimize(e->text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape)->Arg(110)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace podmeter

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--write-tree") {
    podmeter::WriteTree(argv[2], std::atoi(argv[3]));
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
