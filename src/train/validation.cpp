#include "rosetta/train/validation.h"

#include <algorithm>

#include "rosetta/autograd/var.h"
#include "rosetta/decode/translator.h"
#include "rosetta/eval/bleu.h"
#include "rosetta/train/replicas.h"

namespace rosetta {

namespace {

// Masked pieces (tgt_out not padding) whose most likely prediction is right.
int64_t correct_predictions(const Transformer& model, const Batch& batch) {
  const Tensor logits = model.forward(batch.src, batch.tgt_in, nullptr).value();  // [B, S, V]
  const int64_t vocab = logits.dim(2);
  int64_t correct = 0;
  for (size_t i = 0; i < batch.tgt_out.ids.size(); ++i) {
    if (batch.tgt_out.ids[i] == kPadId) continue;
    const float* row = logits.data() + static_cast<int64_t>(i) * vocab;
    correct += std::max_element(row, row + vocab) - row == batch.tgt_out.ids[i];
  }
  return correct;
}

void score_pieces(const Transformer& model, const ValidationSet& set, const Config& config, const TokenMasking& masks,
                  dist::ProcessGroup& group, ValidationResult& r) {
  const int64_t processes = group.size(), rank = group.rank();
  const BatchPlan batches = make_batches(set.corpus, config.train.batch_tokens, 0);
  constexpr size_t kStride = 4;  // loss and nll sums, tokens, masked pieces predicted right
  std::vector<double> mine(kStride * batches.size(), 0.0);
  for (size_t b = static_cast<size_t>(rank); b < batches.size(); b += static_cast<size_t>(processes)) {
    const Batch batch = collate(set.corpus, batches[b], {}, b, masks);
    double nll = 0;
    const Var loss = model.loss(batch.src, batch.tgt_in, batch.tgt_out, config.train.label_smoothing, nullptr, &nll);
    mine[kStride * b] = loss.value().item() * batch.target_tokens;
    mine[kStride * b + 1] = nll * batch.target_tokens;
    mine[kStride * b + 2] = static_cast<double>(batch.target_tokens);
    if (masks.enabled) mine[kStride * b + 3] = static_cast<double>(correct_predictions(model, batch));
  }
  const std::vector<double> all = group.all_gather(mine);
  double loss_sum = 0, nll_sum = 0, tokens = 0, correct = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    const size_t at = (b % static_cast<size_t>(processes)) * mine.size() + kStride * b;
    loss_sum += all[at];
    nll_sum += all[at + 1];
    tokens += all[at + 2];
    correct += all[at + 3];
  }
  r.loss = tokens ? loss_sum / tokens : 0;
  r.nll = tokens ? nll_sum / tokens : 0;
  if (masks.enabled) r.accuracy = tokens ? correct / tokens : 0;
}

void translate_and_score(const Transformer& model, const Vocabularies& vocabularies, const ValidationSet& set,
                         const Config& config, dist::ProcessGroup& group, ValidationResult& r) {
  const SearchOptions search{.beam_size = config.train.valid_beam_size,
                             .length_penalty = config.decode.length_penalty,
                             .max_length_a = config.decode.max_length_a,
                             .max_length_b = config.decode.max_length_b,
                             .greedy_scores = false};  // BLEU needs the words only
  Translator translator(model, vocabularies, search, config.decode.batch_size, config.data.max_len);
  const size_t lines = set.sources.size();
  const auto processes = static_cast<size_t>(group.size()), rank = static_cast<size_t>(group.rank());
  const std::vector<std::string> my_lines(set.sources.begin() + static_cast<std::ptrdiff_t>(lines * rank / processes),
                                          set.sources.begin() + static_cast<std::ptrdiff_t>(lines * (rank + 1) / processes));
  for (const std::string& packed : group.all_gather(pack_strings(translator.translate_best(my_lines))))
    for (std::string& line : unpack_strings(packed)) r.hypotheses.push_back(std::move(line));
  const BleuResult bleu = corpus_bleu(r.hypotheses, {set.references});
  r.bleu = bleu.score;
  r.signature = bleu.signature;
}

}  // namespace

ValidationResult validate_model(const Transformer& model, const Vocabularies& vocabularies, const ValidationSet& set,
                                const Config& config, const TokenMasking& masks, dist::ProcessGroup& group) {
  NoGradGuard no_grad;
  ValidationResult r;
  score_pieces(model, set, config, masks, group, r);
  if (config.model.type == ModelType::encoder_decoder) translate_and_score(model, vocabularies, set, config, group, r);
  return r;
}

}  // namespace rosetta
