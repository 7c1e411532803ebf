#include "exporter/http_server.h"

#include <gtest/gtest.h>

namespace podmeter {
namespace {

TEST(ToCivetListeningPorts, Forms) {
  EXPECT_EQ(*ToCivetListeningPorts(":10101"), "10101");
  EXPECT_EQ(*ToCivetListeningPorts("10101"), "10101");
  EXPECT_EQ(*ToCivetListeningPorts("0.0.0.0:80"), "80");
  EXPECT_EQ(*ToCivetListeningPorts("127.0.0.1:9"), "127.0.0.1:9");
  EXPECT_EQ(*ToCivetListeningPorts("localhost:9"), "127.0.0.1:9");
  EXPECT_EQ(*ToCivetListeningPorts("[::1]:9"), "[::1]:9");
  EXPECT_FALSE(ToCivetListeningPorts("::1:9").ok());
  EXPECT_FALSE(ToCivetListeningPorts("host:").ok());
  EXPECT_FALSE(ToCivetListeningPorts(":65536").ok());
  EXPECT_FALSE(ToCivetListeningPorts("abc").ok());
}

}  // namespace
}  // namespace podmeter
