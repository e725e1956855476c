// rosetta score --model CKPT [--input FILE] [--batch-size N] [--threads N]
// A decoder-only model's log-probability of each input line: JSON lines
// {"line", "log_prob", "tokens", "ppl"} (natural log; tokens count the
// pieces and EOS), and the whole file's perplexity in the log.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "rosetta/data/text_file.h"
#include "rosetta/decode/language_model.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/error.h"
#include "rosetta/json.h"
#include "rosetta/tensor/threads.h"

namespace rosetta::cli {

void add_score_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("score", "Log-probability and perplexity of each line under a language model");
  struct Options {
    std::string model, input = "-";
    int64_t batch_size = 64, threads = 1;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-m,--model", o->model, "checkpoint of a decoder-only model")->required();
  cmd->add_option("-i,--input", o->input, "text, one sentence a line (default: standard input)");
  cmd->add_option("--batch-size", o->batch_size, "sentences a batch");
  cmd->add_option("--threads", o->threads, "CPU threads");
  cmd->callback([o] {
    set_num_threads(static_cast<int>(o->threads));
    const LoadedModel loaded = load_model(o->model);
    check(loaded.model->decoder_only(), o->model, " is not a language model (model.type: decoder_only)");
    const std::vector<std::string> lines = read_lines(o->input);
    const int64_t positions = loaded.model->config().max_positions;
    std::vector<std::vector<int32_t>> sentences;
    for (size_t i = 0; i < lines.size(); ++i) {
      sentences.push_back(loaded.vocabularies.target->encode(lines[i]));
      if (static_cast<int64_t>(sentences.back().size()) + 1 > positions)
        spdlog::warn("{}:{}: {} pieces; only the first {} are scored", o->input == "-" ? "standard input" : o->input,
                     i + 1, sentences.back().size(), positions - 1);
    }
    const std::vector<SentenceScore> scores = score_sentences(*loaded.model, sentences, o->batch_size);
    double log_prob = 0;
    int64_t tokens = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
      std::cout << json_line({{"line", i + 1},
                              {"log_prob", scores[i].log_prob},
                              {"tokens", scores[i].tokens},
                              {"ppl", scores[i].perplexity()}})
                << "\n";
      log_prob += scores[i].log_prob;
      tokens += scores[i].tokens;
    }
    spdlog::info("{} lines, {} tokens: log-probability {:.2f}, perplexity {:.2f}", scores.size(), tokens, log_prob,
                 tokens ? std::exp(-log_prob / static_cast<double>(tokens)) : 0.0);
  });
}

}  // namespace rosetta::cli
