// rosetta align --model CKPT --src FILE --tgt FILE [--alignment hard|soft|T]
//   [--alignment-level word|subword] [--alignment-layer L] [--alignment-heads all|H,H]
// Forced alignment: links between each source line and its given
// translation (a reference, a gold set's target side), one line a pair.
#include <fstream>
#include <iostream>

#include "commands.h"
#include "rosetta/data/text_file.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/decode/translator.h"
#include "rosetta/error.h"
#include "rosetta/tensor/threads.h"

namespace rosetta::cli {

void add_align_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("align", "Word alignments of given translations (forced decoding), from cross-attention");
  struct Options {
    std::string model, src, tgt, output = "-", alignment = "hard", level = "word", heads = "all";
    int64_t layer = -1, batch_size = 64, threads = 1;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-m,--model", o->model, "checkpoint file")->required();
  cmd->add_option("--src", o->src, "source text, one sentence a line")->required();
  cmd->add_option("--tgt", o->tgt, "its translations, line by line")->required();
  cmd->add_option("-o,--output", o->output, "output file (default: standard output)");
  cmd->add_option("--alignment", o->alignment, "hard, soft, or a threshold in (0,1) (see translate --alignment)");
  cmd->add_option("--alignment-level", o->level, "word or subword")->check(CLI::IsMember({"word", "subword"}));
  cmd->add_option("--alignment-layer", o->layer, "decoder layer, from 0 (default: the penultimate)");
  cmd->add_option("--alignment-heads", o->heads, "heads averaged: all, or numbers from 0 such as 0,2");
  cmd->add_option("--batch-size", o->batch_size, "sentence pairs a batch");
  cmd->add_option("--threads", o->threads, "CPU threads");
  cmd->callback([o] {
    set_num_threads(static_cast<int>(o->threads));
    const LoadedModel loaded = load_model(o->model);
    Translator translator(*loaded.model, loaded.vocabularies, SearchOptions{}, o->batch_size, loaded.config.data.max_len);
    AlignmentOptions options = parse_alignment_kind(o->alignment);
    options.word_level = o->level == "word";
    options.layer = o->layer;
    options.heads = parse_alignment_heads(o->heads);
    translator.set_alignment(options);
    const std::vector<std::string> source = read_lines(o->src), target = read_lines(o->tgt);
    check(source.size() == target.size(), "line counts differ: ", o->src, " has ", source.size(), " lines, ", o->tgt,
          " has ", target.size());
    std::ofstream file;
    if (o->output != "-") {
      file.open(o->output);
      check(file.good(), "cannot write ", o->output);
    }
    std::ostream& out = o->output == "-" ? std::cout : file;
    for (const std::string& links : translator.align_given(source, target)) out << links << "\n";
  });
}

}  // namespace rosetta::cli
