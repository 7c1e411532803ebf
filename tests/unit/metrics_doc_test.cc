// docs/metrics.md against the code: the resource table is the readers' rows (regenerate it with
// PODMETER_UPDATE_DOCS=1 and this test), and every family of the golden /metrics files is named.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "collectors/readers/collector.h"
#include "exporter/resource_metrics.h"

namespace podmeter {
namespace {

namespace fs = std::filesystem;

const char kBegin[] = "<!-- BEGIN resource rows -->\n";
const char kEnd[] = "<!-- END resource rows -->\n";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::unique_ptr<Collector>> AllCollectors() {
  auto built = BuildCollectors({}, /*processes=*/nullptr);
  EXPECT_TRUE(built.ok()) << built.status().message();
  return built.ok() ? std::move(built.value()) : std::vector<std::unique_ptr<Collector>>();
}

TEST(MetricsDoc, ResourceTableIsTheReadersRows) {
  const fs::path doc = fs::path(PODMETER_REPO_DIR) / "docs/metrics.md";
  std::string text = ReadFile(doc);
  size_t begin = text.find(kBegin);
  size_t end = text.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << doc << " has no " << kBegin;
  ASSERT_NE(end, std::string::npos) << doc << " has no " << kEnd;
  begin += sizeof(kBegin) - 1;
  ASSERT_LE(begin, end);
  std::string want = ResourceMetricsTable(AllCollectors());
  if (const char* update = std::getenv("PODMETER_UPDATE_DOCS");
      update && std::string(update) == "1") {
    text.replace(begin, end - begin, want);
    std::ofstream(doc) << text;
  }
  EXPECT_EQ(text.substr(begin, end - begin), want)
      << doc << "'s resource table differs from the readers' rows; rerun with "
      << "PODMETER_UPDATE_DOCS=1 to rewrite it";
}

TEST(MetricsDoc, EveryGoldenFamilyIsDocumented) {
  const std::string doc = ReadFile(fs::path(PODMETER_REPO_DIR) / "docs/metrics.md");
  std::vector<std::string> resource_families;
  for (const auto& c : AllCollectors()) {
    for (const MetricRow& row : c->rows()) {
      resource_families.push_back("podmeter_container_" + std::string(row.suffix));
      if (c->reads_pods()) resource_families.push_back("podmeter_pod_" + std::string(row.suffix));
    }
  }
  size_t families = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(PODMETER_REPO_DIR) / "tests/golden")) {
    std::istringstream in(ReadFile(entry.path()));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("# TYPE ", 0) != 0) continue;
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      ++families;
      bool from_rows = std::find(resource_families.begin(), resource_families.end(), name) !=
                       resource_families.end();
      EXPECT_TRUE(from_rows || doc.find("`" + name) != std::string::npos)
          << name << " (in " << entry.path().filename().string() << ") is not in docs/metrics.md";
    }
  }
  EXPECT_GT(families, 20u);
}

}  // namespace
}  // namespace podmeter
