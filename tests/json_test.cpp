// json_line against an independent parser (yaml-cpp reads JSON): every byte
// comes back as it went in, numbers exactly, keys in the order written.
#include "rosetta/json.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>

namespace rosetta {
namespace {

TEST(JsonLine, EveryAsciiByteRoundTripsThroughAParser) {
  std::string all;
  for (int c = 1; c < 128; ++c) all += static_cast<char>(c);
  const std::string encoded = json_line(all);
  for (char c : encoded) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in " << encoded;
  EXPECT_EQ(YAML::Load("{\"s\": " + encoded + "}")["s"].as<std::string>(), all);
  EXPECT_EQ(json_line("a\x01" "b"), "\"a\\u0001b\"");
  EXPECT_EQ(json_line("tab\there"), "\"tab\\there\"");
  EXPECT_EQ(json_line("Grüße"), "\"Grüße\"");  // UTF-8 passes as it is
  EXPECT_EQ(json_line("bad\xff"), "\"bad\xef\xbf\xbd\"");  // not UTF-8: U+FFFD, not an exception
}

TEST(JsonLine, NumbersRoundTripAndNonFiniteIsNull) {
  for (double v : {0.1, 1.0 / 3, 35.123456789012345, -1.0, 1e-300, 6.02214076e23}) {
    const std::string text = json_line(v);
    EXPECT_EQ(std::stod(text), v) << text;
    EXPECT_EQ(YAML::Load(text).as<double>(), v) << text;
  }
  EXPECT_EQ(json_line(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(json_line(std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonLine, KeysKeepTheirOrder) {
  EXPECT_EQ(json_line({{"type", "train"}, {"step", 3}, {"loss", 2.5}, {"a", nullptr}}),
            "{\"type\":\"train\",\"step\":3,\"loss\":2.5,\"a\":null}");
}

}  // namespace
}  // namespace rosetta
