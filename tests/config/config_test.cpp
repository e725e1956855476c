// Config loading: defaults, overrides, and every kind of bad input named by
// file, line and key.
#include <gtest/gtest.h>

#include "rosetta/config/config.h"
#include "rosetta/error.h"

namespace rosetta {
namespace {

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    parse_config(yaml, "test.yaml", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Config, ShippedConfigsLoadAndTheReferenceMatchesItsSpec) {
  const Config c = load_config(ROSETTA_SOURCE_DIR "/configs/multi30k-small.yaml");
  EXPECT_EQ(c.model.d_model, 256);
  EXPECT_EQ(c.model.heads, 4);
  EXPECT_EQ(c.model.ffn, 1024);
  EXPECT_EQ(c.model.encoder_layers, 3);
  EXPECT_EQ(c.model.vocab_size, 8000);
  EXPECT_EQ(c.model.tying, EmbeddingTying::all);
  EXPECT_EQ(c.model.norm, NormPosition::post);
  EXPECT_FLOAT_EQ(c.train.lr, 7e-4f);
  EXPECT_FLOAT_EQ(c.train.adam_eps, 1e-9f);
  EXPECT_EQ(c.train.batch_tokens, 4096);
  EXPECT_DOUBLE_EQ(c.train.max_time, 3600);
  EXPECT_EQ(c.data.train.src, "multi30k/train.en");
  EXPECT_NO_THROW(load_config(ROSETTA_SOURCE_DIR "/configs/tiny.yaml"));
}

TEST(Config, EmptyFileGivesTheDefaults) {
  const Config c = parse_config("", "empty.yaml");
  EXPECT_EQ(c.model.d_model, 512);
  EXPECT_EQ(c.train.batch_tokens, 4096);
}

TEST(Config, OverridesWinOverTheFile) {
  const Config c = parse_config("train: {max_steps: 5}\nmodel: {norm: post}\n", "t.yaml",
                                {"train.max_steps=200", "model.norm=pre", "train.max_time=20m", "train.lr=5e-4"});
  EXPECT_EQ(c.train.max_steps, 200);
  EXPECT_EQ(c.model.norm, NormPosition::pre);
  EXPECT_DOUBLE_EQ(c.train.max_time, 1200);
  EXPECT_FLOAT_EQ(c.train.lr, 5e-4f);
}

TEST(Config, UnknownKeyNamesFileLineAndKey) {
  const std::string e = error_of("model:\n  d_model: 256\n  dmodel: 3\n");
  EXPECT_TRUE(contains(e, "test.yaml:3")) << e;
  EXPECT_TRUE(contains(e, "unknown key 'model.dmodel'")) << e;
  EXPECT_TRUE(contains(e, "model.d_model")) << e;  // suggests the known keys
  EXPECT_TRUE(contains(error_of("", {"train.nope=1"}), "--set train.nope=1: unknown key"));
}

TEST(Config, WrongTypesNameTheKey) {
  EXPECT_TRUE(contains(error_of("model: {d_model: big}"), "model.d_model: expected an integer, got 'big'"));
  EXPECT_TRUE(contains(error_of("model: {dropout: [1, 2]}"), "model.dropout: expected a number"));
  EXPECT_TRUE(contains(error_of("model: {norm: middle}"), "expected one of post|pre"));
  EXPECT_TRUE(contains(error_of("vocab: {joint: maybe}"), "vocab.joint: expected true or false"));
  EXPECT_TRUE(contains(error_of("train: {max_time: soon}"), "train.max_time"));
  EXPECT_TRUE(contains(error_of("train: {seed: -1}"), "train.seed"));
}

TEST(Config, ImpossibleValuesNameTheKey) {
  EXPECT_TRUE(contains(error_of("model: {d_model: 250, heads: 4}"), "not divisible by model.heads"));
  EXPECT_TRUE(contains(error_of("model: {dropout: -0.1}"), "model.dropout must be in [0, 1)"));
  EXPECT_TRUE(contains(error_of("train: {lr: 0}"), "train.lr must be positive"));
  EXPECT_TRUE(contains(error_of("train: {threads: 0}"), "train.threads"));
  EXPECT_TRUE(contains(error_of("model: {heads: 0}"), "model.heads"));
}

TEST(Config, MalformedYamlNamesTheLine) {
  const std::string e = error_of("model:\n  d_model: [256\n");
  EXPECT_TRUE(contains(e, "test.yaml:")) << e;
  EXPECT_TRUE(contains(e, "malformed YAML")) << e;
  EXPECT_TRUE(contains(error_of("- a\n- b\n"), "top level must be a map"));
  EXPECT_THROW(load_config("/no/such/file.yaml"), Error);
}

TEST(Config, WrittenYamlReadsBackToTheSameConfig) {
  const Config c = parse_config("model: {d_model: 64, heads: 2, norm: pre}\ntrain: {max_time: 90s}", "x.yaml");
  const std::string yaml = to_yaml(c);
  const Config again = parse_config(yaml, "resolved.yaml");
  EXPECT_EQ(to_yaml(again), yaml);
  EXPECT_EQ(again.model.norm, NormPosition::pre);
  EXPECT_DOUBLE_EQ(again.train.max_time, 90);
  EXPECT_TRUE(contains(describe_defaults(), "model.d_model: 512"));
}

TEST(Config, DataPathsResolveAgainstTheRoot) {
  Config c = parse_config("data: {train: {src: a/train.en, tgt: /abs/train.de}}", "x.yaml");
  resolve_data_paths(c, "/data");
  EXPECT_EQ(c.data.train.src, "/data/a/train.en");
  EXPECT_EQ(c.data.train.tgt, "/abs/train.de");
  EXPECT_EQ(data_root("/given"), "/given");
}

TEST(Config, Durations) {
  EXPECT_DOUBLE_EQ(parse_duration("90", "t"), 90);
  EXPECT_DOUBLE_EQ(parse_duration("1.5h", "t"), 5400);
  EXPECT_DOUBLE_EQ(parse_duration("20m", "t"), 1200);
  EXPECT_THROW(parse_duration("20 minutes", "t"), Error);
  EXPECT_DOUBLE_EQ(parse_duration("1h30m", "t"), 5400);
  EXPECT_DOUBLE_EQ(parse_duration("7m09s", "t"), 429);
  EXPECT_DOUBLE_EQ(parse_duration(" 2d 1.5h ", "t"), 2 * 86400 + 5400);
  EXPECT_THROW(parse_duration("30m1h", "t"), Error);  // largest unit first
  EXPECT_THROW(parse_duration("1m1m", "t"), Error);   // each unit once
  EXPECT_THROW(parse_duration("1h30", "t"), Error);   // a bare number only alone
  EXPECT_THROW(parse_duration("", "t"), Error);
  EXPECT_THROW(parse_duration("h", "t"), Error);
  try {
    parse_duration("7x", "train.max_time");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("train.max_time: expected a duration"), 0u) << e.what();
  }
}

}  // namespace
}  // namespace rosetta
