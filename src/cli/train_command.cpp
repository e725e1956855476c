// rosetta train --config FILE [--set key=value ...] [--data-root DIR] [--dry-run]
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "openmp_waiting.h"
#include "rosetta/config/config.h"
#include "rosetta/error.h"
#include "rosetta/dist/process_group.h"
#include "rosetta/json.h"
#include "rosetta/model/transformer.h"
#include "rosetta/ops/engine_stats.h"
#include "rosetta/train/stop_signal.h"
#include "rosetta/train/trainer.h"

namespace rosetta::cli {

namespace {

struct TrainOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string data_root;
  bool dry_run = false;
};

// Rough upper bound of training memory for one batch: weights, gradients and
// Adam moments, plus the activations backward keeps for a batch of
// batch_tokens target tokens in sentences of data.max_len (worst case for
// the attention maps).
double estimated_batch_megabytes(const Config& c, int64_t parameters) {
  const auto& m = c.model;
  const double tokens = static_cast<double>(c.train.batch_tokens);
  const double len = static_cast<double>(c.data.max_len);
  const double per_layer_tokens = 12.0 * m.d_model + 2.0 * m.ffn;  // projections, norms, FFN
  const double attention = 3.0 * m.heads * len;                    // scores, softmax, dropout mask
  const double encoder = m.encoder_layers * tokens * (per_layer_tokens + attention);
  const double decoder = m.decoder_layers * tokens * (1.5 * per_layer_tokens + 2 * attention);
  const double output = 3.0 * tokens * m.vocab_size;  // logits, their gradient, workspace
  const double floats = 4.0 * parameters + encoder + decoder + output;
  return floats * sizeof(float) / (1024.0 * 1024.0);
}

void run(const TrainOptions& o) {
  Config config = load_config(o.config_path, o.overrides);
  resolve_data_paths(config, data_root(o.data_root));
  if (o.dry_run) {
    Rng init_rng(config.train.seed);
    Transformer model(config.model, init_rng);
    const int64_t parameters = model.parameter_count();
    std::cout << "# resolved config (" << o.config_path << ")\n" << to_yaml(config);
    std::cout << "parameters: " << parameters << "\n";
    std::cout << "estimated memory per batch: " << static_cast<int64_t>(estimated_batch_megabytes(config, parameters))
              << " MiB (batch_tokens " << config.train.batch_tokens << ", sentences up to " << config.data.max_len
              << " tokens)\n";
    std::cout << "threads: " << config.train.threads << " (idle OpenMP threads: " << openmp_waiting() << ")\n";
    return;
  }
  install_stop_handlers();
  spdlog::info("idle OpenMP threads: {}", openmp_waiting());
  // A run meets ~40 new batch shapes an update in its first epoch and the
  // same ones again after: kept, later epochs skip rebuilding them (measured,
  // multi30k-small bf16: 5% more tokens/s from the second epoch on, ~55 KB
  // a primitive, 4,400 after three epochs). Replicas meet a batch's pieces,
  // of two row counts when its sentences are odd: the quickstart with two
  // needed ~10,400, and with room for 8,192 remade 18,400 in 1,050 updates
  // (9.2 s against 2.8 s; peak RSS +30 MB with the room).
  reserve_primitive_cache(8192 * config.train.replicas);
  const TrainResult r = train(config);
  if (!dist::world().is_root()) return;  // one summary for the run
  std::cout << json_line({{"steps", r.steps},
                          {"epochs", r.epochs},
                          {"best_valid_bleu", r.best_bleu},
                          {"best_valid_ppl", r.best_ppl},
                          {"last_loss", r.last_loss},
                          {"stop_reason", r.stop_reason},
                          {"last_checkpoint", r.last_checkpoint},
                          {"best_checkpoint", r.best_checkpoint},
                          {"final_checkpoint", r.final_checkpoint},
                          {"final_valid_bleu", r.final_bleu},
                          {"model_checkpoint", r.model_checkpoint}})
            << std::endl;
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model from a YAML config (resumes from the run folder's last checkpoint)");
  auto o = std::make_shared<TrainOptions>();
  cmd->add_option("-c,--config", o->config_path, "YAML config file")->required();
  cmd->add_option("--set", o->overrides, "override a key: section.key=value (repeatable)")->take_all();
  cmd->add_option("--data-root", o->data_root, "folder that relative data paths start from (default $ROSETTA_DATA, else ./data)");
  cmd->add_flag("--dry-run", o->dry_run, "print the resolved config, parameter count and memory estimate, then exit");
  cmd->callback([o] { run(*o); });
}

}  // namespace rosetta::cli
