// Validation during training: loss and perplexity over the validation set
// (and, for a masked language model, the share of masked pieces predicted
// right), and for a translation model the BLEU of its translations. With
// several processes each takes a share of the batches and of the sentences;
// the sums run in batch order, so the figures equal one process's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rosetta/config/config.h"
#include "rosetta/data/batcher.h"
#include "rosetta/data/corpus.h"
#include "rosetta/data/vocabularies.h"
#include "rosetta/dist/process_group.h"
#include "rosetta/model/transformer.h"

namespace rosetta {

struct ValidationSet {
  ParallelCorpus corpus;                          // the pieces scored for loss (pairs within max_len)
  std::vector<std::string> sources, references;   // every line, translated and scored as a user would
};

struct ValidationResult {
  double loss = 0, nll = 0;  // per target token: label-smoothed, plain
  double bleu = -1;          // -1: nothing translated (a language model)
  double accuracy = -1;      // a masked language model's: share of masked pieces predicted right
  std::string signature;     // BLEU's
  std::vector<std::string> hypotheses;  // the translations of sources, in order
  // Higher is better: BLEU for a translation model, -nll for a language model.
  double score(bool language_model) const { return language_model ? -nll : bleu; }
};

// masks: a masked language model's masking (the same at every validation:
// batch b's draws are seeded by b); off for the other models.
ValidationResult validate_model(const Transformer& model, const Vocabularies& vocabularies, const ValidationSet& set,
                                const Config& config, const TokenMasking& masks, dist::ProcessGroup& group);

}  // namespace rosetta
