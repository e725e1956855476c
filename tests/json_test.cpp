// json_string against an independent parser (yaml-cpp reads JSON strings):
// every byte comes back as it went in.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "rosetta/json.h"

namespace rosetta {
namespace {

TEST(JsonString, EveryAsciiByteRoundTripsThroughAParser) {
  std::string all;
  for (int c = 1; c < 128; ++c) all += static_cast<char>(c);
  const std::string encoded = json_string(all);
  for (char c : encoded) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in " << encoded;
  EXPECT_EQ(YAML::Load("{\"s\": " + encoded + "}")["s"].as<std::string>(), all);
  EXPECT_EQ(json_string("a\x01" "b"), "\"a\\u0001b\"");
  EXPECT_EQ(json_string("tab\there"), "\"tab\\there\"");
  EXPECT_EQ(json_string("Grüße"), "\"Grüße\"");  // UTF-8 passes as it is
}

}  // namespace
}  // namespace rosetta
