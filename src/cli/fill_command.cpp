// rosetta fill --model CKPT [--input TEXT | --file FILE] [--top-k K] [--json]
// A masked language model's guesses for each <mask> in a sentence: the k
// most likely pieces with their probabilities, and the sentence filled with
// the best of each.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <numeric>

#include "commands.h"
#include "rosetta/data/text_file.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/error.h"
#include "rosetta/json.h"
#include "rosetta/ops/ops.h"
#include "rosetta/tensor/threads.h"

namespace rosetta::cli {

namespace {

struct FillOptions {
  std::string model, input, file;
  int64_t top_k = 5, threads = 1;
  bool json = false;
};

void fill(const FillOptions& o) {
  set_num_threads(static_cast<int>(o.threads));
  check(o.input.empty() != o.file.empty(), "give one of --input (a sentence) and --file (one sentence a line)");
  check(o.top_k >= 1, "--top-k must be at least 1, got ", o.top_k);
  const LoadedModel loaded = load_model(o.model);
  check(loaded.model->encoder_only(), o.model, " is not a masked language model (model.type: encoder_only)");
  const Tokenizer& tokenizer = *loaded.vocabularies.source;
  const int32_t mask_id = tokenizer.id_of(kMaskPiece);
  check(mask_id >= 0, o.model, ": its vocabulary has no ", kMaskPiece, " piece");
  const std::vector<std::string> lines = o.file.empty() ? std::vector<std::string>{o.input} : read_lines(o.file);
  const int64_t positions = loaded.model->config().max_positions, vocab = loaded.model->config().vocab_size;
  NoGradGuard no_grad;
  for (size_t l = 0; l < lines.size(); ++l) {
    std::vector<int32_t> ids = tokenizer.encode(lines[l]);
    // "Ein <mask> fährt" segments as "▁Ein ▁ <mask> ▁fährt": the word's space
    // belongs to the masked piece (training masks "▁Mann" whole), so drop it.
    const int32_t space = tokenizer.id_of("\u2581");
    for (size_t t = 1; t < ids.size(); ++t)
      if (ids[t] == mask_id && ids[t - 1] == space) ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(--t));
    if (static_cast<int64_t>(ids.size()) + 1 > positions) {
      spdlog::warn("line {}: {} pieces; cut to {}", l + 1, ids.size(), positions - 1);
      ids.resize(positions - 1);
    }
    ids.push_back(kEosId);
    const Tensor lp =
        ops::log_softmax(loaded.model->forward(TokenMatrix::from_rows({ids}, kPadId), TokenMatrix{}, nullptr)).value();
    Json masks = Json::array();
    std::vector<int32_t> filled;
    std::string text_lines;
    for (size_t t = 0; t + 1 < ids.size(); ++t) {
      if (ids[t] != mask_id) {
        filled.push_back(ids[t]);
        continue;
      }
      const float* row = lp.data() + static_cast<int64_t>(t) * vocab;
      std::vector<int32_t> order(static_cast<size_t>(vocab));
      std::iota(order.begin(), order.end(), 0);
      // Specials and <mask> itself are never an answer.
      const auto allowed = [&](int32_t v) { return v > kEosId && v != mask_id; };
      std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        if (allowed(a) != allowed(b)) return allowed(a);
        return row[a] > row[b];
      });
      Json candidates = Json::array();
      std::string shown;
      for (int64_t k = 0; k < std::min<int64_t>(o.top_k, vocab - mask_id - 1); ++k) {
        const int32_t v = order[k];
        candidates.push_back({{"piece", tokenizer.piece(v)}, {"prob", std::exp(static_cast<double>(row[v]))}});
        shown += fmt::format("{}{} {:.3f}", k ? " | " : "", tokenizer.piece(v), std::exp(row[v]));
      }
      filled.push_back(order[0]);
      masks.push_back({{"position", t}, {"candidates", candidates}});
      text_lines += fmt::format("  <mask> at piece {}: {}\n", t, shown);
    }
    if (masks.empty()) spdlog::warn("line {}: no {} to fill", l + 1, kMaskPiece);
    if (o.json)
      std::cout << json_line({{"line", l + 1}, {"filled", tokenizer.decode(filled)}, {"masks", masks}}) << "\n";
    else
      std::cout << tokenizer.decode(filled) << "\n" << text_lines;
  }
}

}  // namespace

void add_fill_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("fill", "Fill each <mask> of a sentence with a masked language model (encoder_only)");
  auto o = std::make_shared<FillOptions>();
  cmd->add_option("-m,--model", o->model, "checkpoint of an encoder-only model")->required();
  cmd->add_option("--input", o->input, "a sentence with <mask> where pieces are missing");
  cmd->add_option("--file", o->file, "sentences, one a line");
  cmd->add_option("--top-k", o->top_k, "candidates shown per mask");
  cmd->add_flag("--json", o->json, "one JSON object a sentence");
  cmd->add_option("--threads", o->threads, "CPU threads");
  cmd->callback([o] { fill(*o); });
}

}  // namespace rosetta::cli
