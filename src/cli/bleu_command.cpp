// rosetta bleu --ref REF [--ref REF2 ...] --hyp HYP [--tokenize 13a|intl|none|char]
//              [--lowercase] [--metrics bleu,chrf] [--sentence] [--json]
#include <iostream>

#include "commands.h"
#include "rosetta/data/text_file.h"
#include "rosetta/error.h"
#include "rosetta/eval/bleu.h"
#include "rosetta/json.h"

namespace rosetta::cli {

void add_bleu_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bleu", "Score translations with BLEU and chrF, as sacreBLEU 2.6.0 does");
  struct Options {
    std::vector<std::string> refs;
    std::string hyp = "-", tokenize = "13a", metrics = "bleu";
    bool lowercase = false, sentence = false, json = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-r,--ref", o->refs, "reference file (repeat for several references)")->required();
  cmd->add_option("-i,--hyp", o->hyp, "hypothesis file (default: standard input)");
  cmd->add_option("--tokenize", o->tokenize, "13a, intl, none or char")->check(CLI::IsMember({"13a", "intl", "none", "char"}));
  cmd->add_flag("--lowercase,-l", o->lowercase, "case-insensitive");
  cmd->add_option("--metrics,-m", o->metrics, "bleu, chrf or bleu,chrf");
  cmd->add_flag("--sentence", o->sentence, "per-line BLEU (effective order)");
  cmd->add_flag("--json", o->json, "one JSON object per metric");
  cmd->callback([o] {
    const auto hyps = read_lines(o->hyp);
    std::vector<std::vector<std::string>> refs;
    for (const auto& path : o->refs) {
      refs.push_back(read_lines(path));
      check(refs.back().size() == hyps.size(), "line counts differ: ", o->hyp == "-" ? "the hypotheses" : o->hyp, " has ",
            hyps.size(), " lines, ", path, " has ", refs.back().size());
    }
    const BleuOptions options{parse_bleu_tokenizer(o->tokenize), o->lowercase};
    const bool want_bleu = o->metrics.find("bleu") != std::string::npos;
    const bool want_chrf = o->metrics.find("chrf") != std::string::npos;
    check(want_bleu || want_chrf, "--metrics must name bleu, chrf or both, got '", o->metrics, "'");
    if (o->sentence) {
      for (size_t i = 0; i < hyps.size(); ++i) {
        std::vector<std::string> segment;
        for (const auto& r : refs) segment.push_back(r[i]);
        const BleuResult b = sentence_bleu(hyps[i], segment, options);
        if (o->json) std::cout << json_line({{"line", i + 1}, {"score", b.score}}) << "\n";
        else std::cout << json_line(b.score) << "\n";
      }
      return;
    }
    if (want_bleu) {
      const BleuResult b = corpus_bleu(hyps, refs, options);
      if (o->json) {
        std::cout << json_line({{"name", "BLEU"},
                                {"score", b.score},
                                {"counts", b.counts},
                                {"totals", b.totals},
                                {"bp", b.bp},
                                {"sys_len", b.sys_len},
                                {"ref_len", b.ref_len},
                                {"signature", b.signature}})
                  << "\n";
      } else {
        std::cout << b.format() << "\n";
      }
    }
    if (want_chrf) {
      const ChrfResult c = corpus_chrf(hyps, refs, o->lowercase);
      if (o->json) std::cout << json_line({{"name", "chrF2"}, {"score", c.score}, {"signature", c.signature}}) << "\n";
      else std::cout << c.format() << "\n";
    }
  });
}

}  // namespace rosetta::cli
