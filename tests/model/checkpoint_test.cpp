// Checkpoint files: a bit-exact round trip, and a clear error for every kind
// of damaged file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "rosetta/error.h"
#include "rosetta/model/checkpoint.h"
#include "rosetta/model/transformer.h"

namespace rosetta {
namespace {

namespace fs = std::filesystem;

class CheckpointFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rosetta_ckpt_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static void write(const std::string& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
  }
  std::string error_loading(const std::string& p) {
    try {
      load_checkpoint(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  Checkpoint sample() {
    Checkpoint c;
    c.texts["config"] = "model: {d_model: 8}\n";
    c.texts["vocab"] = std::string("\0\x01binary\xff", 9);
    c.texts["state/step"] = "42";
    c.tensors.emplace_back("param/w", Tensor::from_vector({2, 3}, {1, -2.5f, 3e-30f, 0, 1e30f, -0.0f}));
    c.tensors.emplace_back("param/scalar", Tensor::scalar(7));
    return c;
  }

  fs::path dir_;
};

TEST_F(CheckpointFile, RoundTripIsBitExact) {
  const Checkpoint c = sample();
  save_checkpoint(c, path("a.ckpt"));
  const Checkpoint back = load_checkpoint(path("a.ckpt"));
  EXPECT_EQ(back.texts, c.texts);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].first, "param/w");
  EXPECT_EQ(back.tensors[0].second.shape(), (Shape{2, 3}));
  EXPECT_EQ(std::memcmp(back.tensors[0].second.data(), c.tensors[0].second.data(), 6 * sizeof(float)), 0);
  EXPECT_EQ(back.tensors[1].second.shape(), Shape{});
  EXPECT_EQ(back.text("state/step"), "42");
  EXPECT_THROW(back.text("state/epoch"), Error);
  // Saved again, the file is byte for byte the same.
  save_checkpoint(back, path("b.ckpt"));
  EXPECT_EQ(read(path("a.ckpt")), read(path("b.ckpt")));
}

TEST_F(CheckpointFile, SavingLeavesNoTemporaryAndReplacesAtomically) {
  save_checkpoint(sample(), path("run/last.ckpt"));  // creates the folder
  Checkpoint other = sample();
  other.texts["state/step"] = "43";
  save_checkpoint(other, path("run/last.ckpt"));
  EXPECT_EQ(load_checkpoint(path("run/last.ckpt")).text("state/step"), "43");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "run")) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "last.ckpt");
  }
  EXPECT_EQ(files, 1);
}

TEST_F(CheckpointFile, ModelParametersRoundTrip) {
  const ModelConfig config{.vocab_size = 11, .d_model = 8, .heads = 2, .ffn = 16, .encoder_layers = 1,
                           .decoder_layers = 1};
  Rng a(1), b(2);
  Transformer saved(config, a), loaded(config, b);
  Checkpoint c;
  store_parameters(saved, c);
  save_checkpoint(c, path("m.ckpt"));
  restore_parameters(load_checkpoint(path("m.ckpt")), loaded);
  const auto p1 = saved.named_parameters(), p2 = loaded.named_parameters();
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_EQ(p1[i].second.value().to_vector(), p2[i].second.value().to_vector());
  // A model of another shape is refused by name.
  ModelConfig wider = config;
  wider.ffn = 32;
  Transformer other(wider, a);
  try {
    restore_parameters(c, other);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ffn.linear1.weight"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointFile, EveryTruncationIsAClearError) {
  save_checkpoint(sample(), path("a.ckpt"));
  const std::string bytes = read(path("a.ckpt"));
  for (size_t keep : {size_t{0}, size_t{4}, size_t{8}, size_t{20}, size_t{30}, bytes.size() / 2, bytes.size() - 1}) {
    write(path("cut.ckpt"), bytes.substr(0, keep));
    const std::string e = error_loading(path("cut.ckpt"));
    EXPECT_NE(e, "no error") << keep;
    EXPECT_NE(e.find("cut.ckpt"), std::string::npos) << e;
  }
}

TEST_F(CheckpointFile, EveryFlippedByteIsCaught) {
  save_checkpoint(sample(), path("a.ckpt"));
  const std::string bytes = read(path("a.ckpt"));
  for (size_t i = 0; i < bytes.size(); i += 3) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    write(path("bad.ckpt"), damaged);
    EXPECT_NE(error_loading(path("bad.ckpt")), "no error") << "byte " << i;
  }
}

TEST_F(CheckpointFile, AFilterKeepsOnlyTheChosenTensorsButChecksTheWholeFile) {
  Checkpoint c = sample();
  c.tensors.emplace_back("adam_m/w", Tensor::full({2, 3}, 0.5f));
  save_checkpoint(c, path("a.ckpt"));
  const auto only_params = [](const std::string& name) { return name.starts_with("param/"); };
  const Checkpoint loaded = load_checkpoint(path("a.ckpt"), only_params);
  EXPECT_EQ(loaded.tensors.size(), 2u);
  EXPECT_EQ(loaded.find_tensor("adam_m/w"), nullptr);
  ASSERT_NE(loaded.find_tensor("param/w"), nullptr);
  EXPECT_EQ(loaded.find_tensor("param/w")->to_vector()[1], -2.5f);
  EXPECT_EQ(loaded.text("state/step"), "42");
  // Damage inside a tensor the filter drops is still caught.
  std::string bytes = read(path("a.ckpt"));
  bytes[bytes.size() - 12 - 4] ^= 0x5a;  // the last float of adam_m/w, before the trailer
  write(path("bad.ckpt"), bytes);
  EXPECT_THROW(load_checkpoint(path("bad.ckpt"), only_params), Error);
}

TEST_F(CheckpointFile, WrongVersionForeignAndMissingFiles) {
  save_checkpoint(sample(), path("a.ckpt"));
  std::string bytes = read(path("a.ckpt"));
  bytes[8] = 99;  // format version
  write(path("v99.ckpt"), bytes);
  EXPECT_NE(error_loading(path("v99.ckpt")).find("format version 99"), std::string::npos);
  write(path("notes.txt"), "just some text, not a checkpoint at all");
  EXPECT_NE(error_loading(path("notes.txt")).find("is not a Rosetta checkpoint"), std::string::npos);
  write(path("empty.ckpt"), "");
  EXPECT_NE(error_loading(path("empty.ckpt")), "no error");
  EXPECT_NE(error_loading(path("missing.ckpt")).find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace rosetta
