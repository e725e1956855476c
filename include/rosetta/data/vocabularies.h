// The source and target vocabularies of a model: one SentencePiece model
// shared by both sides (vocab.joint, the default, needed to tie all
// embeddings) or one per side. Checkpoints carry them as texts: "vocab" when
// joint, "vocab/src" and "vocab/tgt" otherwise.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "rosetta/config/config.h"
#include "rosetta/data/tokenizer.h"

namespace rosetta {

struct Vocabularies {
  std::shared_ptr<const Tokenizer> source, target;  // the same object when joint

  bool joint() const { return source == target; }
  static Vocabularies shared(Tokenizer tokenizer);
  void store(std::map<std::string, std::string>& texts) const;
  // Throws naming `origin` when the texts hold no vocabulary.
  static Vocabularies from_texts(const std::map<std::string, std::string>& texts, const std::string& origin);
};

// The SentencePiece model files a config names, relative paths resolved in
// run_dir: vocab.model when joint, else vocab.src_model and vocab.tgt_model
// (by default vocab.model with ".src" / ".tgt" before its extension).
struct VocabularyFiles {
  std::string joint, source, target;
};
VocabularyFiles vocabulary_files(const VocabConfig& vocab, const std::string& run_dir);

// Loads the models the config names, training each missing one with
// SentencePiece from the training text (both sides when joint), with
// user_symbols as whole pieces (a masked language model's "<mask>").
Vocabularies load_or_train_vocabularies(const VocabConfig& vocab, const CorpusPaths& train,
                                        const std::string& run_dir, uint64_t seed,
                                        const std::vector<std::string>& user_symbols = {});

}  // namespace rosetta
