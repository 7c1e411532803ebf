// libFuzzer target for ParsePodList and ParseRfc3339 (tests/fuzz/run.sh builds and runs it).
// Beyond "no crash, no sanitizer report": an accepted list has a uid on every pod, and a parsed
// timestamp is finite.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "collectors/kube/pod_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t skipped = 0;
  auto pods = podmeter::ParsePodList(text, &skipped);
  if (pods.ok()) {
    for (const podmeter::PodMeta& pod : *pods) {
      if (pod.uid.empty()) {
        std::fprintf(stderr, "invariant broken: a pod without uid was accepted\n");
        std::abort();
      }
    }
  }
  std::optional<double> t = podmeter::ParseRfc3339(text.substr(0, 64));
  if (t.has_value() && !std::isfinite(*t)) {
    std::fprintf(stderr, "invariant broken: ParseRfc3339 returned %g\n", *t);
    std::abort();
  }
  return 0;
}
