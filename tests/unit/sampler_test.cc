// The sampler on a copy of a fixture tree: discovery, pause exclusion, and a container that
// vanishes in the middle of its read.
#include "exporter/sampler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "collectors/kube/pod_metadata.h"
#include "collectors/readers/process_table.h"
#include "exporter/text_format.h"

namespace podmeter {
namespace {

namespace fs = std::filesystem;

const char kVanishing[] = "0303030303030303030303030303030303030303030303030303030303030303";

// Deletes one container's cgroup the moment the sampler starts reading it.
class RemovingCollector : public Collector {
 public:
  explicit RemovingCollector(std::string root) : root_(std::move(root)) {}
  std::string_view name() const override { return "remover"; }
  bool reads_pods() const override { return false; }
  const std::vector<MetricRow>& rows() const override {
    static const std::vector<MetricRow> none;
    return none;
  }
  Status Collect(const CgroupDirs& dirs, CgroupSample*) override {
    if (dirs.memory.find(kVanishing) != std::string::npos) fs::remove_all(dirs.memory);
    return Status::Ok();
  }

 private:
  std::string root_;
};

std::string Scrape(SnapshotStore& store) { return store.Latest()->text; }

class SamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("podmeter-sampler-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::copy(fs::path(PODMETER_FIXTURES_DIR) / "v1-cgroupfs", dir_, fs::copy_options::recursive);
    options_.cgroup_root = (dir_ / "sys/fs/cgroup").string();
    options_.proc_root = (dir_ / "proc").string();
    table_ = NewProcfsProcessTable(options_.proc_root);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::unique_ptr<Collector>> Collectors(bool with_remover) {
    std::vector<std::unique_ptr<Collector>> out;
    if (with_remover) out.push_back(std::make_unique<RemovingCollector>(options_.cgroup_root));
    auto built = BuildCollectors({}, table_.get());
    EXPECT_TRUE(built.ok());
    for (auto& c : built.value()) out.push_back(std::move(c));
    return out;
  }

  fs::path dir_;
  SamplerOptions options_;
  std::unique_ptr<ProcessTable> table_;
};

TEST_F(SamplerTest, NotReadyBeforeFirstSample) {
  SnapshotStore store;
  Sampler sampler(options_, Collectors(false), &store);
  EXPECT_FALSE(store.ready());
  sampler.SampleOnce();
  EXPECT_TRUE(store.ready());
}

TEST_F(SamplerTest, PauseContainersHaveNoSeries) {
  SnapshotStore store;
  Sampler sampler(options_, Collectors(false), &store);
  sampler.SampleOnce();
  std::string text = Scrape(store);
  EXPECT_NE(text.find("podmeter_discovered_containers 4"), std::string::npos) << text;
  EXPECT_EQ(text.find("container=\"a0a0a0a0a0a0\""), std::string::npos);  // pause of pod 0
  EXPECT_NE(text.find("container=\"010101010101\""), std::string::npos);
}

TEST_F(SamplerTest, AListedContainerRunningThePauseImageHasSeries) {
  // Pod 0's pause-only container a0a0… listed as a user container of the pod (a Deployment whose
  // image is the pause image): it is no sandbox, so it gets its series under its name.
  auto listed = std::make_shared<std::vector<PodMeta>>(1);
  PodMeta& pod = (*listed)[0];
  pod.uid = "0f6c9a52-4c7e-4d3b-9c1e-2b7a8e6d5f41";
  pod.name = "sleeper";
  pod.namespace_name = "default";
  pod.containers.resize(1);
  pod.containers[0].name = "idle";
  pod.containers[0].container_id = std::string(64, 'a');
  for (size_t i = 1; i < 64; i += 2) pod.containers[0].container_id[i] = '0';
  MetadataFeed feed;
  feed.latest = [listed] { return std::shared_ptr<const std::vector<PodMeta>>(listed); };
  SnapshotStore store;
  Sampler sampler(options_, Collectors(false), &store, feed);
  sampler.SampleOnce();
  std::string text = Scrape(store);
  EXPECT_NE(text.find("podmeter_container_processes{namespace=\"default\",pod=\"sleeper\","
                      "container=\"idle\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("podmeter_discovered_containers 5"), std::string::npos);
  // The other pods' sandboxes (not listed: no metadata for those pods) still have none.
  EXPECT_EQ(text.find("container=\"a1a1a1a1a1a1\""), std::string::npos);
}

TEST_F(SamplerTest, TheStartupWatchersStateIsServed) {
  SnapshotStore store;
  Sampler sampler(options_, Collectors(false), &store);
  sampler.SampleOnce();
  sampler.SampleOnce();  // the second sample serves the watcher's state after its start
  std::string text = Scrape(store);
  EXPECT_NE(text.find("podmeter_startup_watch_pending_containers 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("podmeter_startup_watch_containers_total{outcome=\"never_listened\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("podmeter_startup_exec_events_lost_total 0\n"), std::string::npos);
  // The memory hierarchy's root, kubepods, its QoS levels and the fixture's pods.
  size_t at = text.find("\npodmeter_startup_watch_directories ");
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_GE(std::stod(text.substr(at + 36)), 5.0) << text.substr(at, 60);
}

TEST_F(SamplerTest, ContainerVanishingMidReadIsSkippedAndCounted) {
  SnapshotStore store;
  Sampler sampler(options_, Collectors(true), &store);
  sampler.SampleOnce();
  std::string text = Scrape(store);
  EXPECT_EQ(text.find("container=\"030303030303\""), std::string::npos) << text;
  EXPECT_NE(text.find("podmeter_vanished_cgroups_total{level=\"container\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("podmeter_sample_errors_total{collector=\"memory\"} 0"), std::string::npos);
  // The rest of its pod is still there, complete.
  EXPECT_NE(text.find("podmeter_container_memory_rss_bytes{namespace=\"\",pod=\"7d2e4b18-93a5-4f0c-"
                      "b8d6-1e5c7a9f3b20\",container=\"020202020202\"}"),
            std::string::npos);
}

TEST_F(SamplerTest, UnreadableFileIsCountedNotFatal) {
  fs::path stat = fs::path(options_.cgroup_root) /
                  "memory/kubepods/besteffort/podc4a81f37-2b6d-"
                  "4e95-a0c3-8f7e1d2b6a59/"
                  "0404040404040404040404040404040404040404040404040404040404040404/memory.stat";
  std::ofstream(stat) << "garbage\n";
  SnapshotStore store;
  Sampler sampler(options_, Collectors(false), &store);
  sampler.SampleOnce();
  std::string text = Scrape(store);
  EXPECT_NE(text.find("podmeter_sample_errors_total{collector=\"memory\"} 1"), std::string::npos);
  EXPECT_EQ(text.find("container=\"040404040404\""), std::string::npos);
}

}  // namespace
}  // namespace podmeter
