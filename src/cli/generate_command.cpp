// rosetta generate --model CKPT [--prompt TEXT] [-n N] [--temperature T]
//   [--top-k K] [--top-p P] [--max-length L] [--seed S] [--threads N]
// Text from a decoder-only model: N continuations of the prompt, a line each
// (the prompt included), the same for the same seed.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "rosetta/decode/language_model.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/error.h"
#include "rosetta/tensor/threads.h"

namespace rosetta::cli {

void add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Sample text from a language model (model.type: decoder_only)");
  struct Options {
    std::string model, prompt;
    int64_t n = 1, top_k = 0, max_length = 100, threads = 1;
    float temperature = 1.0f, top_p = 1.0f;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-m,--model", o->model, "checkpoint of a decoder-only model")->required();
  cmd->add_option("--prompt", o->prompt, "text to continue (default: none, a sentence from its start)");
  cmd->add_option("-n", o->n, "continuations");
  cmd->add_option("--temperature", o->temperature, "below 1 sharper, above 1 flatter");
  cmd->add_option("--top-k", o->top_k, "draw from the k most likely pieces (0: all)");
  cmd->add_option("--top-p", o->top_p, "draw from the fewest most likely pieces holding this probability (1: all)");
  cmd->add_option("--max-length", o->max_length, "pieces generated at most");
  cmd->add_option("--seed", o->seed, "the same seed gives the same text");
  cmd->add_option("--threads", o->threads, "CPU threads");
  cmd->callback([o] {
    set_num_threads(static_cast<int>(o->threads));
    const LoadedModel loaded = load_model(o->model);
    check(loaded.model->decoder_only(), o->model, " is not a language model (model.type: decoder_only); translate it instead");
    check(o->n >= 1, "-n must be at least 1, got ", o->n);
    check(o->top_k >= 0, "--top-k must not be negative, got ", o->top_k);
    check(o->max_length >= 1, "--max-length must be at least 1, got ", o->max_length);
    const Tokenizer& tokenizer = *loaded.vocabularies.target;
    const std::vector<int32_t> prompt = tokenizer.encode(o->prompt);
    const auto samples = sample_continuations(
        *loaded.model, prompt, o->n,
        {.temperature = o->temperature, .top_k = o->top_k, .top_p = o->top_p, .max_length = o->max_length, .seed = o->seed});
    for (const std::vector<int32_t>& sample : samples) {
      std::vector<int32_t> all = prompt;
      all.insert(all.end(), sample.begin(), sample.end());
      std::cout << tokenizer.decode(all) << "\n";
    }
  });
}

}  // namespace rosetta::cli
