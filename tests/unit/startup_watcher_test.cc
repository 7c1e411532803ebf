#include "collectors/watchers/startup_watcher.h"

#include <gtest/gtest.h>

namespace podmeter {
namespace {

TEST(ParseListeningInodes, OnlyListenState) {
  const char* tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "66357 1 0000000077148f77 100 0 0 10 0\n"
      "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 "
      "66358 1 0000000077148f77 20 4 30 10 -1\n"
      "   2: garbage\n";
  EXPECT_EQ(ParseListeningInodes(tcp), std::vector<uint64_t>{66357});
  EXPECT_TRUE(ParseListeningInodes("").empty());
}

}  // namespace
}  // namespace podmeter
