// Attention maps of a trained copy model: shapes, rows that are
// distributions, the causal mask, and what the SVG and JSON hold.
#include "rosetta/inspect/attention_map.h"
#include "rosetta/inspect/attention_page.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "rosetta/decode/model_loader.h"
#include "rosetta/error.h"
#include "rosetta/train/trainer.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class AttentionMaps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    checkpoint_ = train(testing::tiny_config(*dir_, {"train.valid_every=0", "train.max_steps=60"})).last_checkpoint;
  }
  static void TearDownTestSuite() { delete dir_; }
  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string checkpoint_;
};

TEST_F(AttentionMaps, EveryKindLayerAndHeadWithRowsThatSumToOne) {
  const LoadedModel loaded = load_model(checkpoint_);
  std::vector<int32_t> source = loaded.vocabularies.source->encode("red cat sits");
  source.push_back(kEosId);
  const std::vector<int32_t> target = loaded.vocabularies.target->encode("red dog");
  const AttentionMap map = attention_map(*loaded.model, loaded.vocabularies, source, target);
  const size_t s = source.size(), t = target.size() + 1;
  EXPECT_EQ(map.source.back(), "</s>");
  EXPECT_EQ(map.target_in.front(), "<s>");
  EXPECT_EQ(map.target_out.back(), "</s>");
  ASSERT_EQ(map.encoder_self.size(), 1u);  // tiny.yaml: 1 + 1 layers, 2 heads
  ASSERT_EQ(map.cross.size(), 1u);
  ASSERT_EQ(map.cross[0].size(), 2u);
  for (const auto* kind : {&map.encoder_self, &map.decoder_self, &map.cross})
    for (const auto& layer : *kind)
      for (const auto& head : layer)
        for (const auto& row : head) {
          double sum = 0;
          for (float w : row) sum += w;
          EXPECT_NEAR(sum, 1.0, 1e-5);
        }
  EXPECT_EQ(map.encoder_self[0][0].size(), s);
  EXPECT_EQ(map.encoder_self[0][0][0].size(), s);
  EXPECT_EQ(map.cross[0][1].size(), t);
  EXPECT_EQ(map.cross[0][1][0].size(), s);
  for (size_t q = 0; q < t; ++q)  // a decoder position never sees later ones
    for (size_t k = q + 1; k < t; ++k) EXPECT_EQ(map.decoder_self[0][0][q][k], 0.0f);

  const nlohmann::json json = nlohmann::json::parse(attention_json(map));
  EXPECT_EQ(json["tokens"]["source"].size(), s);
  EXPECT_EQ(json["cross"][0][1][t - 1].size(), s);
  EXPECT_FLOAT_EQ(json["cross"][0][1][0][0].get<float>(), map.cross[0][1][0][0]);

  // The grid: a cell per weight, a frame per map, the background.
  const std::string grid = attention_svg(map, {});
  EXPECT_EQ(count(grid, "<rect "), 2 * (s * s + t * t + t * s) + 2 * 3 + 1);
  EXPECT_NE(grid.find("&lt;/s&gt;"), std::string::npos);  // labels escaped
  const std::string one = attention_svg(map, {"cross", 0, 1});
  EXPECT_EQ(count(one, "<rect "), t * s + 1 + 1);
  EXPECT_NE(one.find("cross-attention (decoder queries, source keys), layer 0, head 1"), std::string::npos);
  const std::string cut = attention_svg(map, {.max_tokens = 2});
  EXPECT_NE(cut.find("sentences cut to their first 2 tokens"), std::string::npos);
  EXPECT_THROW(attention_svg(map, {"cross", 0, 2}), Error);
  EXPECT_THROW(attention_svg(map, {"cross", 1, 0}), Error);
  EXPECT_THROW(attention_svg(map, {"sideways", 0, 0}), Error);
}

// The page carries the same weights as the JSON, inside a script element
// that no token can close early, and fetches nothing.
TEST_F(AttentionMaps, PageHoldsTheWeightsAndNeedsNoNetwork) {
  const LoadedModel loaded = load_model(checkpoint_);
  std::vector<int32_t> source = loaded.vocabularies.source->encode("red cat sits");
  source.push_back(kEosId);
  const AttentionMap map =
      attention_map(*loaded.model, loaded.vocabularies, source, loaded.vocabularies.target->encode("red dog"));
  const std::string page = attention_html(map);
  const std::string open = "<script type=\"application/json\" id=\"attention-data\">";
  const size_t begin = page.find(open);
  ASSERT_NE(begin, std::string::npos);
  const size_t end = page.find("</", begin + open.size());
  ASSERT_EQ(page.compare(end, 9, "</script>"), 0) << "a token closed the data block early";
  const nlohmann::json data = nlohmann::json::parse(page.substr(begin + open.size(), end - begin - open.size()));
  EXPECT_EQ(data, nlohmann::json::parse(attention_json(map)));
  EXPECT_EQ(data["tokens"]["source"].back(), "</s>");
  for (const char* fetch : {" src=", " href=", "@import", "url(", "fetch("}) EXPECT_EQ(page.find(fetch), std::string::npos) << fetch;
  EXPECT_EQ(count(page, "<script"), 2u);
}

TEST_F(AttentionMaps, CommandWritesPicturesAndWeights) {
  const std::string base = testing::rosetta_binary() + " attention -m " + checkpoint_ + " --src 'red cat sits'";
  auto r = testing::run_command(base + " --out " + dir_->path("a.svg"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("translation: "), std::string::npos) << r.output;
  r = testing::run_command(base + " --tgt 'red cat' --out " + dir_->path("a.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = testing::run_command(base + " --tgt 'red cat' --out " + dir_->path("a.html"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(testing::read_text(dir_->path("a.html")).rfind("<!DOCTYPE html>", 0), 0u);
  // Longer than data.max_len (32 in tiny.yaml): cut as translate cuts, with a warning.
  std::string long_source;
  for (int i = 0; i < 40; ++i) long_source += i ? " red" : "red";
  r = testing::run_command(testing::rosetta_binary() + " attention -m " + checkpoint_ + " --src '" + long_source +
                           "' --out " + dir_->path("long.svg"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--src has 41 tokens; cut to 32"), std::string::npos) << r.output;
  r = testing::run_command(base + " --out " + dir_->path("a.txt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("expected a name ending in .svg, .html or .json"), std::string::npos) << r.output;
  r = testing::run_command(base + " --out " + dir_->path("b.svg") + " --kind cross --layer 3 --head 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--layer 3: the model has 1 layers"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace rosetta
