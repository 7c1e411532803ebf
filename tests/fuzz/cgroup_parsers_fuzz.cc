// libFuzzer target for the cgroup and mountinfo parsers (tests/fuzz/run.sh builds and runs it).
// The first byte picks the parser, the rest is its input (split at the first NUL for the parsers
// that read two files). Beyond "no crash, no sanitizer report": an accepted figure is finite.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "collectors/cgroupfs/kubepods_path.h"
#include "collectors/cgroupfs/mountinfo.h"
#include "collectors/readers/cpu_stat.h"
#include "collectors/readers/memory_stat.h"

namespace {

void CheckFinite(double v, const char* what) {
  if (!std::isfinite(v)) {
    std::fprintf(stderr, "invariant broken: %s returned %g\n", what, v);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace podmeter;
  if (size == 0) return 0;
  const uint8_t which = data[0] % 13;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t nul = text.find('\0');
  std::string_view first = text.substr(0, nul);
  std::string_view second = nul == std::string_view::npos ? "" : text.substr(nul + 1);
  CpuSample cpu;
  MemorySample mem;
  switch (which) {
    case 0:
      ParseCpuStatV1(text, &cpu);
      break;
    case 1:
      ParseCpuacctStat(text, 100, &cpu);
      break;
    case 2:
      ParseCpuacctUsage(text, &cpu);
      break;
    case 3:
      ParseCpuStatV2(text, &cpu);
      break;
    case 4: {
      auto v = ParseCpuMax(text);
      if (v.ok() && v->has_value()) CheckFinite(**v, "ParseCpuMax");
      break;
    }
    case 5: {
      auto v = ParseCfsQuota(first, second);
      if (v.ok() && v->has_value()) CheckFinite(**v, "ParseCfsQuota");
      break;
    }
    case 6:
      ParseMemoryV1(first, second, &mem);
      break;
    case 7:
      ParseMemoryV2(first, second, &mem);
      break;
    case 8:
      ParseMemoryLimitV1(text);
      break;
    case 9:
      ParseMemoryMax(text);
      break;
    case 10:
      ParseOomControl(text);
      ParseMemoryEventsOomKill(text);
      break;
    case 11:
      ParseMountInfo(text);
      break;
    default:
      ParseKubepodsPath(text);
      break;
  }
  return 0;
}
