// rosetta translate --model CKPT [--input FILE] [--output FILE] [--beam-size N]
//   [--batch-size N] [--n-best N] [--length-penalty A] [--max-length-ratio R] [--threads N]
//   [--precision fp32|bf16|auto] [--alignment hard|soft|THRESHOLD [--alignment-level word|subword]
//   [--alignment-layer L] [--alignment-heads all|H,H...]]
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "rosetta/data/text_file.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/decode/translator.h"
#include "rosetta/error.h"
#include "rosetta/ops/engine_stats.h"
#include "rosetta/ops/precision.h"
#include "rosetta/tensor/threads.h"

namespace rosetta::cli {

namespace {

struct TranslateOptions {
  std::string model, input = "-", output = "-";
  int64_t beam_size = -1, batch_size = -1, n_best = 1, threads = 1;
  float length_penalty = -1, max_length_ratio = -1;
  bool no_averaged = false;
  std::string precision = "auto";  // measured: bf16 decodes 1.3-1.5x faster within 0.1 BLEU on both CPUs tried
  std::string alignment, alignment_level = "word", alignment_heads = "all";
  int64_t alignment_layer = -1;
};

void run(const TranslateOptions& o) {
  set_num_threads(static_cast<int>(o.threads));
  std::string precision_why;
  const ops::PrecisionScope precision(ops::resolve_precision(o.precision, &precision_why));
  spdlog::info("precision: {}", precision_why);
  reserve_primitive_cache(4096);  // measured: ~10% faster than the default 256, for ~60 MB
  const LoadedModel loaded = load_model(o.model, !o.no_averaged);
  const DecodeConfig& d = loaded.config.decode;
  SearchOptions search{.beam_size = o.beam_size > 0 ? o.beam_size : d.beam_size,
                       .length_penalty = o.length_penalty >= 0 ? o.length_penalty : d.length_penalty,
                       .max_length_a = o.max_length_ratio >= 0 ? o.max_length_ratio : d.max_length_a,
                       .max_length_b = d.max_length_b,
                       .n_best = o.n_best,
                       .greedy_scores = o.n_best > 1};  // scores are printed only in n-best lists
  check(search.n_best <= search.beam_size, "--n-best ", search.n_best, " exceeds the beam size ", search.beam_size);
  const int64_t batch_size = o.batch_size > 0 ? o.batch_size : d.batch_size;
  Translator translator(*loaded.model, loaded.vocabularies, search, batch_size, loaded.config.data.max_len);
  if (!o.alignment.empty()) {
    AlignmentOptions alignment = parse_alignment_kind(o.alignment);
    alignment.word_level = o.alignment_level == "word";
    alignment.layer = o.alignment_layer;
    alignment.heads = parse_alignment_heads(o.alignment_heads);
    translator.set_alignment(alignment);
  }
  // " ||| alignment" after a line, when asked for.
  const auto aligned = [&](const Translation& t, size_t k) {
    return o.alignment.empty() ? std::string() : " ||| " + t.alignments[k];
  };

  const bool from_stdin = o.input == "-";
  LineReader reader(from_stdin ? "/dev/stdin" : o.input);
  std::ofstream file;
  if (o.output != "-") {
    file.open(o.output);
    check(file.good(), "cannot write ", o.output);
  }
  std::ostream& out = o.output == "-" ? std::cout : file;
  // A terminal gets each line translated as it is typed; files go in chunks
  // large enough for length-sorted batches, written as each chunk is done.
  const size_t chunk = from_stdin && ::isatty(0) ? 1 : static_cast<size_t>(batch_size) * 16;
  const auto start = std::chrono::steady_clock::now();
  int64_t done = 0, tokens = 0;
  std::vector<std::string> lines;
  std::string line;
  bool more = true;
  while (more) {
    lines.clear();
    while (lines.size() < chunk && (more = reader.next(line))) lines.push_back(line);
    if (lines.empty()) break;
    const auto results = translator.translate(lines, done + 1);
    for (size_t i = 0; i < results.size(); ++i) {
      tokens += results[i].tokens;
      if (o.n_best > 1) {
        for (size_t k = 0; k < results[i].texts.size(); ++k)
          out << done + static_cast<int64_t>(i) << " ||| " << results[i].texts[k] << " ||| " << results[i].scores[k]
              << aligned(results[i], k) << "\n";
      } else {
        out << results[i].texts.front() << aligned(results[i], 0) << "\n";
      }
    }
    out.flush();
    done += static_cast<int64_t>(lines.size());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const EngineStats engine = engine_stats();
  spdlog::info("translated {} lines in {:.2f}s: {:.2f} lines/s, {:.1f} target tokens/s ({} tokens), beam {}, batch {}, "
               "{} threads; tensors: peak {} MiB, {} MiB cached; {} oneDNN primitives made in {:.2f}s",
               done, seconds, seconds > 0 ? done / seconds : 0.0, seconds > 0 ? tokens / seconds : 0.0, tokens,
               search.beam_size, batch_size, o.threads, engine.peak_tensor_bytes >> 20, engine.cached_tensor_bytes >> 20,
               engine.created_primitives, engine.primitive_seconds);
}

}  // namespace

void add_translate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("translate", "Translate text with a trained checkpoint");
  auto o = std::make_shared<TranslateOptions>();
  cmd->add_option("-m,--model", o->model, "checkpoint file")->required();
  cmd->add_option("-i,--input", o->input, "input text, one sentence a line (default: standard input)");
  cmd->add_option("-o,--output", o->output, "output file (default: standard output)");
  cmd->add_option("-b,--beam-size", o->beam_size, "beam size; 1 is greedy (default: the model's decode.beam_size)");
  cmd->add_option("--batch-size", o->batch_size, "sentences a batch (default: decode.batch_size)");
  cmd->add_option("--n-best", o->n_best, "write the N best as 'line ||| translation ||| score' (line from 0)");
  cmd->add_option("--length-penalty", o->length_penalty, "score / length^A (default: decode.length_penalty)");
  cmd->add_option("--max-length-ratio", o->max_length_ratio, "output cap a in a * source tokens + b");
  cmd->add_option("--threads", o->threads, "CPU threads");
  cmd->add_option("--precision", o->precision, "matmul precision: fp32, bf16 or auto (the default: bf16 where the CPU has native bf16 dot "
                  "products, fp32 elsewhere; the log says which)")
      ->check(CLI::IsMember({"fp32", "bf16", "auto"}));
  cmd->add_option("--alignment", o->alignment,
                  "append ' ||| ' and word alignments from cross-attention: hard (one link a target word, Pharaoh "
                  "src-tgt pairs), a threshold in (0,1) (every link above it), or soft (weights per target word)");
  cmd->add_option("--alignment-level", o->alignment_level, "align words (pieces merged) or subword pieces")
      ->check(CLI::IsMember({"word", "subword"}));
  cmd->add_option("--alignment-layer", o->alignment_layer,
                  "decoder layer whose cross-attention aligns, from 0 (default: the penultimate)");
  cmd->add_option("--alignment-heads", o->alignment_heads, "heads averaged: all, or numbers from 0 such as 0,2");
  cmd->add_flag("--raw-weights", o->no_averaged, "use the raw weights even when the checkpoint has averaged ones");
  cmd->callback([o] { run(*o); });
}

}  // namespace rosetta::cli
