// rosetta align-eval --ref GOLD --hyp HYP [--json]: alignment error rate,
// precision and recall of word alignments against a gold set.
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "rosetta/data/text_file.h"
#include "rosetta/error.h"
#include "rosetta/eval/alignment_error.h"
#include "rosetta/json.h"

namespace rosetta::cli {

void add_align_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("align-eval", "Score word alignments against gold links: AER, precision, recall");
  struct Options {
    std::string ref, hyp = "-";
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-r,--ref", o->ref, "gold alignments: i-j sure, i?j or ipj possible links, one line a sentence")
      ->required();
  cmd->add_option("-i,--hyp", o->hyp, "hypothesis links i-j, or translate --alignment output (default: standard input)");
  cmd->add_flag("--json", o->json, "one JSON object");
  cmd->callback([o] {
    const AlignmentScores s = alignment_error(read_lines(o->ref), read_lines(o->hyp), o->ref,
                                              o->hyp == "-" ? "standard input" : o->hyp);
    if (o->json) {
      std::cout << json_line({{"aer", s.aer},
                              {"precision", s.precision},
                              {"recall", s.recall},
                              {"sentences", s.sentences},
                              {"links", s.hypothesis_links},
                              {"sure", s.sure_links},
                              {"possible", s.possible_links}})
                << "\n";
      return;
    }
    char line[200];
    std::snprintf(line, sizeof(line), "AER %.2f precision %.2f recall %.2f", 100 * s.aer, 100 * s.precision,
                  100 * s.recall);
    std::cout << line << " (" << s.sentences << " sentences, " << s.hypothesis_links << " links; gold: " << s.sure_links
              << " sure, " << s.possible_links << " possible)\n";
  });
}

}  // namespace rosetta::cli
