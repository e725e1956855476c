// Averaging checkpoints of a run with one vocabulary per side: the average
// carries both vocabularies and translates on its own.
#include <gtest/gtest.h>

#include "rosetta/decode/model_loader.h"
#include "rosetta/model/checkpoint.h"
#include "rosetta/train/checkpoint_average.h"
#include "rosetta/train/trainer.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

TEST(Averaging, KeepsBothVocabulariesOfASeparateVocabularyRun) {
  testing::TempDir dir;
  train(testing::tiny_config(dir, {"train.max_steps=4", "train.save_every=2", "train.valid_every=0", "vocab.joint=false",
                                   "model.tie_embeddings=decoder"}));
  const std::string a = dir.path("run/checkpoints/step-00000002.ckpt"), b = dir.path("run/checkpoints/step-00000004.ckpt");
  average_checkpoints({a, b}, dir.path("avg.ckpt"));
  const Checkpoint last = load_checkpoint(b), avg = load_checkpoint(dir.path("avg.ckpt"));
  EXPECT_FALSE(avg.has_text("vocab"));
  EXPECT_EQ(avg.text("vocab/src"), last.text("vocab/src"));
  EXPECT_EQ(avg.text("vocab/tgt"), last.text("vocab/tgt"));
  const LoadedModel loaded = load_model(dir.path("avg.ckpt"));
  EXPECT_FALSE(loaded.vocabularies.joint());
  const Checkpoint first = load_checkpoint(a);
  const auto w = avg.find_tensor("param/tgt_embedding.weight")->to_vector();
  const auto wa = first.find_tensor("param/tgt_embedding.weight")->to_vector();
  const auto wb = last.find_tensor("param/tgt_embedding.weight")->to_vector();
  for (size_t i = 0; i < w.size(); ++i) ASSERT_FLOAT_EQ(w[i], (wa[i] + wb[i]) / 2) << i;
}

}  // namespace
}  // namespace rosetta
