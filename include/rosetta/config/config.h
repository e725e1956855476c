// The typed configuration of a run: data, vocabulary, model, training and
// decoding. load_config() reads a YAML file plus `--set key=value`
// overrides, rejects unknown keys, wrong types and impossible values with
// the key and the file in the message, and fills everything else from the
// defaults below, which are the one place defaults are written down
// (`rosetta config --defaults` prints them all with their help text).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rosetta/config/model_config.h"

namespace rosetta {

struct CorpusPaths {
  std::string src = {}, tgt = {};  // parallel text (encoder-decoder models)
  std::string text = {};  // monolingual text (language models)
  bool monolingual() const { return !text.empty(); }
};

struct DataConfig {
  CorpusPaths train, valid, test;
  int64_t max_len = 128;           // tokens incl. EOS; longer training pairs are dropped
  float max_length_ratio = 9.0f;   // longer/shorter above this drops the pair (0: off)
};

enum class VocabType { unigram, bpe };

struct VocabConfig {
  std::string model = "spm.model";  // trained from the training text when missing
  int64_t size = 8000;
  VocabType type = VocabType::unigram;
  bool joint = true;                // one model for both sides
  std::string src_model, tgt_model;  // joint: false; default: model with .src/.tgt before its extension
  float character_coverage = 1.0f;
  int64_t train_sentences = 2000000;  // sentences sampled to train the model
  bool sampling = false;            // subword regularisation while training
  float sampling_alpha = 0.1f;
};

enum class OptimizerKind { adam, adamw };
enum class ScheduleKind { inverse_sqrt, constant, linear };
// Matmul precision (the rest stays fp32); automatic: bf16 where the CPU has native bf16 dot products.
enum class PrecisionChoice { fp32, bf16, automatic };

struct TrainConfig {
  std::string run_dir = "runs/default";
  uint64_t seed = 1;
  int64_t threads = 2;
  int64_t replicas = 1;             // copies of the model training side by side, threads / replicas each
  PrecisionChoice precision = PrecisionChoice::fp32;
  int64_t batch_tokens = 4096;     // padded target tokens a batch
  int64_t update_freq = 1;         // batches a parameter update (gradient accumulation)
  float bucket_mb = 4.0f;          // several processes: gradients summed in buckets of this many MB
  int64_t max_steps = 0;           // 0: no limit
  int64_t max_epochs = 0;          // 0: no limit
  double max_time = 0;             // seconds of wall clock ("20m", "1h" in YAML); 0: no limit
  int64_t log_every = 100;
  int64_t valid_every = 1000;
  int64_t save_every = 1000;
  int64_t keep_last = 3;           // checkpoints kept besides `best`
  int64_t average_last = 0;        // at the end, final.ckpt = mean of the last N checkpoints; 0: off
  int64_t early_stopping = 0;      // validations without a new best BLEU; 0: off
  int64_t max_nonfinite = 10;      // non-finite steps in a row before the run stops
  OptimizerKind optimizer = OptimizerKind::adam;
  float lr = 7e-4f;                // peak learning rate
  float adam_beta1 = 0.9f;
  float adam_beta2 = 0.98f;
  float adam_eps = 1e-9f;
  float weight_decay = 0.0f;
  ScheduleKind schedule = ScheduleKind::inverse_sqrt;
  int64_t warmup_steps = 1000;
  float warmup_init_lr = 0.0f;
  int64_t decay_steps = 0;         // linear schedule: steps to reach zero (0: max_steps)
  bool recount_schedule = true;    // a schedule planned from max_time is recounted as the run goes
  float label_smoothing = 0.1f;
  float clip_norm = 1.0f;          // global gradient L2 norm; 0: off
  float ema_decay = 0.0f;          // exponential moving average of weights; 0: off
  int64_t valid_samples = 3;       // sample translations logged at each validation
  int64_t valid_beam_size = 1;     // search used for validation BLEU (1: greedy)
  // Masked language models (BERT's recipe): pieces chosen, and of those the
  // shares replaced by <mask> and by a random piece (the rest stay).
  float mlm_select = 0.15f;
  float mlm_mask = 0.8f;
  float mlm_random = 0.1f;
};

struct DecodeConfig {
  int64_t beam_size = 5;
  float length_penalty = 1.0f;     // score / length^A
  float max_length_a = 1.5f;       // output cap: a * source length + b
  int64_t max_length_b = 10;
  int64_t batch_size = 64;         // sentences a decoding batch
};

struct Config {
  DataConfig data;
  VocabConfig vocab;
  ModelConfig model;
  TrainConfig train;
  DecodeConfig decode;
};

// Reads `path` (YAML) and applies overrides ("train.max_steps=200"). Throws
// rosetta::Error naming the file, line and key on any problem.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from YAML text; `origin` names it in messages.
Config parse_config(const std::string& yaml, const std::string& origin,
                    const std::vector<std::string>& overrides = {});
// The fully resolved config as YAML (every key, defaults included).
std::string to_yaml(const Config& config);
// Every key with its default and help text, one a line.
std::string describe_defaults();

// Relative data paths resolve against the data root: `--data-root`, else
// $ROSETTA_DATA, else "data". Absolute paths stay as they are.
std::string data_root(const std::string& command_line_root);
void resolve_data_paths(Config& config, const std::string& root);

// Parses "90", "90s", "20m", "1.5h", "1h30m", "7m09s" to seconds; throws
// naming `what` (when not empty) otherwise.
double parse_duration(const std::string& text, const std::string& what);

}  // namespace rosetta
