// Subword tokenization through the SentencePiece library (not a
// re-implementation): training a model from text, loading it from a file or
// from checkpoint bytes, encoding (optionally with sampled segmentations for
// subword regularisation) and decoding. Ids: pad 0, unk 1, bos 2, eos 3.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rosetta/data/token_matrix.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace rosetta {

struct TokenizerTraining {
  std::vector<std::string> inputs;  // text files, one sentence a line
  int64_t vocab_size = 8000;
  std::string type = "unigram";     // unigram | bpe
  float character_coverage = 1.0f;
  int64_t max_sentences = 2000000;  // sampled from the inputs
  uint64_t seed = 1;
  std::vector<std::string> user_symbols = {};  // pieces kept whole, with ids right after the specials ("<mask>": 4)
};


class Tokenizer {
 public:
  Tokenizer();
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  static Tokenizer load(const std::string& path);
  static Tokenizer from_bytes(const std::string& serialized_model, const std::string& origin);
  // Trains a model and writes it to model_path (atomically); returns it loaded.
  static Tokenizer train(const TokenizerTraining& options, const std::string& model_path);

  std::vector<int32_t> encode(const std::string& text) const;
  // One segmentation sampled with smoothing alpha, from all of them, drawn
  // from SentencePiece's generator of the calling thread.
  std::vector<int32_t> encode_sampled(const std::string& text, float alpha) const;
  // Runs `work` (which samples) so that its samples depend on `seed` alone.
  // SentencePiece keeps one generator per thread, seeded from its global
  // seed when the thread first samples, so `work` runs on a new thread
  // started right after setting that seed. Exceptions propagate.
  static void sample_with_seed(uint64_t seed, const std::function<void()>& work);
  std::string decode(const std::vector<int32_t>& ids) const;
  // The piece of an id as the model spells it ("▁Ein" begins a word).
  std::string piece(int32_t id) const;
  // The id of a piece, or -1 when the vocabulary lacks it.
  int32_t id_of(const std::string& piece) const;
  int64_t vocab_size() const;
  std::string serialized() const;  // the model's bytes, for checkpoints

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace rosetta
