// rosetta heads --model CKPT --src FILE [--tgt FILE] [--json] [--ablate]
//   [--beam-size N] [--batch-size N] [--max-sentences N] [--threads N]
// What each attention head does over a file of sentences: the attention of
// forced decoding of the given references (--tgt), else of the model's own
// translations; with --ablate, the BLEU each head's masking costs.
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>

#include "commands.h"
#include "rosetta/data/text_file.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/decode/translator.h"
#include "rosetta/error.h"
#include "rosetta/eval/bleu.h"
#include "rosetta/inspect/head_ablation.h"
#include "rosetta/inspect/head_statistics.h"
#include "rosetta/ops/engine_stats.h"
#include "rosetta/ops/precision.h"
#include "rosetta/tensor/threads.h"

namespace rosetta::cli {

namespace {

struct HeadsOptions {
  std::string model, src, tgt, precision = "fp32";
  int64_t beam_size = -1, batch_size = -1, max_sentences = 0, threads = 1;
  bool json = false, ablate = false;
};

void run_heads(const HeadsOptions& o) {
  set_num_threads(static_cast<int>(o.threads));
  const ops::PrecisionScope precision(ops::resolve_precision(o.precision));
  reserve_primitive_cache(4096);
  const LoadedModel loaded = load_model(o.model);
  std::vector<std::string> source = read_lines(o.src), references;
  if (!o.tgt.empty()) {
    references = read_lines(o.tgt);
    check(source.size() == references.size(), "line counts differ: ", o.src, " has ", source.size(), " lines, ", o.tgt,
          " has ", references.size());
  }
  check(!o.ablate || !references.empty(), "--ablate needs --tgt: the references BLEU is measured against");
  if (o.max_sentences > 0 && static_cast<int64_t>(source.size()) > o.max_sentences) {
    source.resize(o.max_sentences);
    if (!references.empty()) references.resize(o.max_sentences);
  }
  check(!source.empty(), o.src, ": no sentences");
  const DecodeConfig& d = loaded.config.decode;
  const Translator translator(*loaded.model, loaded.vocabularies,
                              {.beam_size = o.beam_size > 0 ? o.beam_size : d.beam_size,
                               .length_penalty = d.length_penalty,
                               .max_length_a = d.max_length_a,
                               .max_length_b = d.max_length_b},
                              o.batch_size > 0 ? o.batch_size : d.batch_size, loaded.config.data.max_len);
  std::vector<Translation> translations;
  if (references.empty() || o.ablate) translations = translator.translate(source);

  // The statistics: one teacher-forced pass a sentence pair, cut as translate cuts.
  HeadReport report;
  HeadStatisticsSum sum;
  const int64_t max_len = loaded.config.data.max_len, positions = loaded.model->config().max_positions;
  for (size_t i = 0; i < source.size(); ++i) {
    std::vector<int32_t> src = loaded.vocabularies.source->encode(source[i]);
    if (src.empty()) continue;
    if (static_cast<int64_t>(src.size()) + 1 > max_len) src.resize(max_len - 1);
    src.push_back(kEosId);
    std::vector<int32_t> tgt =
        references.empty() ? translations[i].best_pieces : loaded.vocabularies.target->encode(references[i]);
    if (static_cast<int64_t>(tgt.size()) + 1 > positions) tgt.resize(positions - 1);
    sum.add(attention_map(*loaded.model, loaded.vocabularies, src, tgt));
    ++report.sentences;
  }
  check(report.sentences > 0, o.src, ": every line is empty");
  report.heads = sum.means();
  spdlog::info("head statistics over {} sentence pairs ({})", report.sentences,
               references.empty() ? "the model's translations" : "forced decoding of " + o.tgt);

  if (o.ablate) {
    const auto bleu = [&](const std::vector<std::string>& hypotheses) {
      return corpus_bleu(hypotheses, {references}).score;
    };
    std::vector<std::string> best;
    for (const Translation& t : translations) best.push_back(t.texts.front());
    report.bleu = bleu(best);
    spdlog::info("BLEU of the full model: {:.2f}; now without each of {} heads in turn", report.bleu,
                 report.heads.size());
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < report.heads.size(); ++i) {
      const HeadStatistics& h = report.heads[i];
      {
        const HeadAblation ablation(*loaded.model, h.kind, h.layer, h.head);
        report.ablated.push_back(bleu(translator.translate_best(source)));
      }
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      spdlog::info("{} layer {} head {} masked: BLEU {:.2f} ({:+.2f}); {}/{} heads, eta {:.0f}s", h.kind, h.layer, h.head,
                   report.ablated.back(), report.ablated.back() - report.bleu, i + 1, report.heads.size(),
                   elapsed / static_cast<double>(i + 1) * static_cast<double>(report.heads.size() - i - 1));
    }
  }
  std::cout << (o.json ? head_json_lines(report) : head_table(report)) << std::flush;
}

}  // namespace

void add_heads_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("heads", "What each attention head does over a file of sentences (and, with --ablate, "
                                          "what masking it costs in BLEU)");
  auto o = std::make_shared<HeadsOptions>();
  cmd->add_option("-m,--model", o->model, "checkpoint file")->required();
  cmd->add_option("--src", o->src, "source sentences, one a line")->required();
  cmd->add_option("--tgt", o->tgt, "their references: attention of forced decoding (default: of the translations)");
  cmd->add_flag("--json", o->json, "one JSON object a head instead of the table");
  cmd->add_flag("--ablate", o->ablate, "also translate with each head masked in turn and report the BLEU lost");
  cmd->add_option("-b,--beam-size", o->beam_size, "beam size of the translations (default: the model's)");
  cmd->add_option("--batch-size", o->batch_size, "sentences a batch while translating");
  cmd->add_option("--max-sentences", o->max_sentences, "use only the first N lines (0: all)");
  cmd->add_option("--precision", o->precision, "matmul precision: fp32, bf16 or auto");
  cmd->add_option("--threads", o->threads, "CPU threads");
  cmd->callback([o] { run_heads(*o); });
}

}  // namespace rosetta::cli
