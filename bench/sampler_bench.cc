// Benchmarks of the sampler's hot path: parsers, one whole sample over N synthetic pods, and one
// scrape (copy + text serialisation). Run: build/bench/podmeter_bench
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "collectors/readers/cpu_stat.h"
#include "collectors/readers/memory_stat.h"
#include "collectors/readers/process_table.h"
#include "exporter/sampler.h"
#include "exporter/text_format.h"

namespace podmeter {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A cgroup v2 node with `pods` burstable pods of two containers each.
fs::path MakeTree(int pods) {
  fs::path root = fs::temp_directory_path() /
                  ("podmeter-bench-" + std::to_string(::getpid()) + "-" + std::to_string(pods));
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
    Write(d / "cgroup.procs", "");
    Write(d / "cgroup.threads", "");
  };
  for (int i = 0; i < pods; ++i) {
    char uid[40];
    std::snprintf(uid, sizeof(uid), "%08x_0000_4000_8000_%012x", i, i);
    fs::path pod = root / "sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice" /
                   ("kubepods-burstable-pod" + std::string(uid) + ".slice");
    cg(pod);
    for (int c = 0; c < 2; ++c) {
      char id[65];
      std::snprintf(id, sizeof(id), "%064x", i * 2 + c + 1);
      cg(pod / ("cri-containerd-" + std::string(id) + ".scope"));
    }
  }
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

void BM_SampleOnce(benchmark::State& state) {
  SyntheticNode node(static_cast<int>(state.range(0)));
  for (auto _ : state) node.sampler().SampleOnce();
  state.counters["pods"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_SampleOnce)->Arg(10)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_Scrape(benchmark::State& state) {
  SyntheticNode node(static_cast<int>(state.range(0)));
  node.sampler().SampleOnce();
  size_t bytes = 0;
  for (auto _ : state) bytes = SerializeText(node.store().Collect()).size();
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape)->Arg(10)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace podmeter

BENCHMARK_MAIN();
