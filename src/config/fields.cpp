#include "fields.h"

#include <limits>
#include <map>

#include "rosetta/error.h"

namespace rosetta::config_detail {

namespace {

template <typename T>
T scalar_as(const YAML::Node& node, const char* type_name) {
  if (!node.IsScalar()) throw Error(concat("expected ", type_name, ", got a ", node.IsMap() ? "map" : "list"));
  T value;
  if (!YAML::convert<T>::decode(node, value))
    throw Error(concat("expected ", type_name, ", got '", node.Scalar(), "'"));
  return value;
}

Field number(const std::string& key, int64_t& target, const std::string& help) {
  return {key, help, [&target](const YAML::Node& n) { target = scalar_as<int64_t>(n, "an integer"); },
          [&target] { return YAML::Node(target); }};
}

Field number(const std::string& key, uint64_t& target, const std::string& help) {
  return {key, help,
          [&target](const YAML::Node& n) { target = scalar_as<uint64_t>(n, "a non-negative integer"); },
          [&target] { return YAML::Node(target); }};
}

Field number(const std::string& key, float& target, const std::string& help) {
  return {key, help, [&target](const YAML::Node& n) { target = scalar_as<float>(n, "a number"); },
          [&target] { return YAML::Node(target); }};
}

Field flag(const std::string& key, bool& target, const std::string& help) {
  return {key, help, [&target](const YAML::Node& n) { target = scalar_as<bool>(n, "true or false"); },
          [&target] { return YAML::Node(target); }};
}

Field text(const std::string& key, std::string& target, const std::string& help) {
  return {key, help, [&target](const YAML::Node& n) { target = scalar_as<std::string>(n, "a string"); },
          [&target] { return YAML::Node(target); }};
}

Field duration(const std::string& key, double& target, const std::string& help) {
  return {key, help,
          [&target](const YAML::Node& n) {  // the error is put in the key's context by the caller
            target = parse_duration(scalar_as<std::string>(n, "a duration"), "");
          },
          [&target] { return YAML::Node(target); }};
}

template <typename Enum>
Field choice(const std::string& key, Enum& target, std::vector<std::pair<std::string, Enum>> names,
             const std::string& help) {
  std::string allowed;
  for (const auto& [name, value] : names) allowed += (allowed.empty() ? "" : "|") + name;
  return {key, help + " (" + allowed + ")",
          [&target, names, allowed](const YAML::Node& n) {
            const auto value = scalar_as<std::string>(n, "a name");
            for (const auto& [name, e] : names)
              if (name == value) {
                target = e;
                return;
              }
            throw Error(concat("expected one of ", allowed, ", got '", value, "'"));
          },
          [&target, names] {
            for (const auto& [name, e] : names)
              if (e == target) return YAML::Node(name);
            return YAML::Node();
          }};
}

}  // namespace

std::vector<Field> fields(Config& c) {
  auto& d = c.data;
  auto& v = c.vocab;
  auto& m = c.model;
  auto& t = c.train;
  auto& o = c.decode;
  return {
      choice("model.type", m.type,
             {{"encoder_decoder", ModelType::encoder_decoder}, {"decoder_only", ModelType::decoder_only},
              {"encoder_only", ModelType::encoder_only}},
             "encoder_decoder: a translation model; decoder_only: a language model of data.*.text; encoder_only: a "
             "masked language model of data.*.text"),
      text("data.train.text", d.train.text, "decoder_only, encoder_only: training text, one sentence a line"),
      text("data.valid.text", d.valid.text, "decoder_only, encoder_only: validation text"),
      text("data.test.text", d.test.text, "decoder_only, encoder_only: test text (optional)"),
      text("data.train.src", d.train.src, "training source text, one sentence a line"),
      text("data.train.tgt", d.train.tgt, "training target text, line by line with the source"),
      text("data.valid.src", d.valid.src, "validation source text"),
      text("data.valid.tgt", d.valid.tgt, "validation reference translations"),
      text("data.test.src", d.test.src, "test source text (optional)"),
      text("data.test.tgt", d.test.tgt, "test references (optional)"),
      number("data.max_len", d.max_len, "longest training sentence in tokens, EOS included"),
      number("data.max_length_ratio", d.max_length_ratio, "drop pairs whose longer/shorter token ratio exceeds this (0: off)"),
      text("vocab.model", v.model, "SentencePiece model; trained from the training text if missing (relative: in train.run_dir)"),
      number("vocab.size", v.size, "vocabulary size, pad/unk/bos/eos included"),
      choice("vocab.type", v.type, {{"unigram", VocabType::unigram}, {"bpe", VocabType::bpe}}, "SentencePiece model type"),
      flag("vocab.joint", v.joint, "one vocabulary for source and target (false: one per side, each of vocab.size)"),
      text("vocab.src_model", v.src_model, "joint: false: source SentencePiece model (default: vocab.model with .src before its extension)"),
      text("vocab.tgt_model", v.tgt_model, "joint: false: target SentencePiece model (default: vocab.model with .tgt before its extension)"),
      number("vocab.character_coverage", v.character_coverage, "SentencePiece character coverage"),
      number("vocab.train_sentences", v.train_sentences, "sentences sampled to train the vocabulary"),
      flag("vocab.sampling", v.sampling, "subword regularisation (sampled segmentations) while training"),
      number("vocab.sampling_alpha", v.sampling_alpha, "smoothing of the sampled segmentations"),
      number("model.d_model", m.d_model, "model width"),
      number("model.heads", m.heads, "attention heads; must divide d_model"),
      number("model.ffn", m.ffn, "feed-forward inner width"),
      number("model.encoder_layers", m.encoder_layers, "encoder layers"),
      number("model.decoder_layers", m.decoder_layers, "decoder layers"),
      number("model.dropout", m.dropout, "dropout on embeddings and sub-layer outputs"),
      number("model.attention_dropout", m.attention_dropout, "dropout on attention weights"),
      number("model.activation_dropout", m.activation_dropout, "dropout after the feed-forward activation"),
      choice("model.norm", m.norm, {{"post", NormPosition::post}, {"pre", NormPosition::pre}}, "layer norm position"),
      choice("model.activation", m.activation, {{"relu", ActivationKind::relu}, {"gelu", ActivationKind::gelu}}, "feed-forward activation"),
      choice("model.tie_embeddings", m.tying, {{"all", EmbeddingTying::all}, {"decoder", EmbeddingTying::decoder}, {"none", EmbeddingTying::none}},
             "shared embedding matrices: all three, target input with output, or none"),
      choice("model.positional", m.positional, {{"sinusoidal", PositionalKind::sinusoidal}, {"learned", PositionalKind::learned}}, "position encoding"),
      number("model.max_positions", m.max_positions, "longest sequence the position encoding covers"),
      number("model.layer_norm_eps", m.layer_norm_eps, "layer norm epsilon"),
      text("train.run_dir", t.run_dir, "run folder: checkpoints, metrics.jsonl, logs; a run resumes from it"),
      number("train.seed", t.seed, "seed of initialisation, dropout and shuffling"),
      number("train.threads", t.threads, "CPU threads"),
      number("train.replicas", t.replicas, "copies of the model that train side by side in this process, each on threads / replicas threads with its share of every batch (its sentences split between them, gradients summed in a fixed order): one thread each keeps both cores busier than one copy on two"),
      choice("train.precision", t.precision, {{"fp32", PrecisionChoice::fp32}, {"bf16", PrecisionChoice::bf16}, {"auto", PrecisionChoice::automatic}},
             "matmul precision: fp32, bf16 (fp32 accumulation; weights, optimizer, loss and statistics stay fp32), or auto (bf16 where the CPU has native bf16 dot products)"),
      number("train.batch_tokens", t.batch_tokens, "padded target tokens a batch"),
      number("train.update_freq", t.update_freq, "batches accumulated per update"),
      number("train.bucket_mb", t.bucket_mb, "with several processes: gradients are summed across them in buckets of this many MB, each as soon as the backward pass completes it"),
      number("train.max_steps", t.max_steps, "stop after this many updates (0: no limit)"),
      number("train.max_epochs", t.max_epochs, "stop after this many epochs (0: no limit)"),
      duration("train.max_time", t.max_time, "stop after this much wall-clock time: 90s, 20m, 1.5h, 1h30m (0: no limit)"),
      number("train.log_every", t.log_every, "updates between log lines"),
      number("train.valid_every", t.valid_every, "updates between validations (0: off)"),
      number("train.save_every", t.save_every, "updates between checkpoints"),
      number("train.keep_last", t.keep_last, "checkpoints kept besides the best"),
      number("train.average_last", t.average_last,
             "when the run stops, write final.ckpt as the mean of its last N step checkpoints and validate it (0: off)"),
      number("train.early_stopping", t.early_stopping, "validations without a new best BLEU before stopping (0: off)"),
      number("train.max_nonfinite", t.max_nonfinite, "non-finite updates in a row before the run stops"),
      choice("train.optimizer", t.optimizer, {{"adam", OptimizerKind::adam}, {"adamw", OptimizerKind::adamw}}, "optimizer"),
      number("train.lr", t.lr, "peak learning rate"),
      number("train.adam_beta1", t.adam_beta1, "Adam beta1"),
      number("train.adam_beta2", t.adam_beta2, "Adam beta2"),
      number("train.adam_eps", t.adam_eps, "Adam epsilon"),
      number("train.weight_decay", t.weight_decay, "weight decay (decoupled with adamw)"),
      choice("train.schedule", t.schedule, {{"inverse_sqrt", ScheduleKind::inverse_sqrt}, {"constant", ScheduleKind::constant}, {"linear", ScheduleKind::linear}},
             "learning-rate schedule after warm-up"),
      number("train.warmup_steps", t.warmup_steps, "linear warm-up updates"),
      number("train.warmup_init_lr", t.warmup_init_lr, "learning rate at the start of warm-up"),
      number("train.decay_steps", t.decay_steps, "linear schedule: updates to reach zero (0: train.max_steps; with neither, planned from train.max_time at the end of warm-up)"),
      flag("train.recount_schedule", t.recount_schedule,
           "a linear schedule planned from train.max_time is counted again halfway through what is left, from the pace "
           "since (uses the budget to the end; a resumed run then repeats the rates only up to its next count, as the "
           "clock decides them); false: counted once at the end of warm-up"),
      number("train.label_smoothing", t.label_smoothing, "label smoothing"),
      number("train.clip_norm", t.clip_norm, "clip the global gradient norm to this (0: off)"),
      number("train.ema_decay", t.ema_decay, "exponential moving average of the weights (0: off)"),
      number("train.valid_samples", t.valid_samples, "sample translations logged at each validation"),
      number("train.mlm_select", t.mlm_select, "encoder_only: share of pieces chosen for the masked-LM loss"),
      number("train.mlm_mask", t.mlm_mask, "encoder_only: share of the chosen pieces replaced by <mask>"),
      number("train.mlm_random", t.mlm_random, "encoder_only: share of the chosen pieces replaced by a random piece (the rest stay)"),
      number("train.valid_beam_size", t.valid_beam_size, "beam size of the validation translations (1: greedy)"),
      number("decode.beam_size", o.beam_size, "beam size (1: greedy)"),
      number("decode.length_penalty", o.length_penalty, "score / length^A"),
      number("decode.max_length_a", o.max_length_a, "output cap: a * source tokens + b"),
      number("decode.max_length_b", o.max_length_b, "output cap: a * source tokens + b"),
      number("decode.batch_size", o.batch_size, "sentences a decoding batch"),
  };
}

std::string misfit(const std::string& key, ModelType type) {
  const auto starts = [&](const char* prefix) { return key.rfind(prefix, 0) == 0; };
  const auto ends = [&](const std::string& suffix) {
    return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  const bool masking = starts("train.mlm_");
  if (type == ModelType::encoder_decoder) {
    if (starts("data.") && ends(".text"))
      return "monolingual text is for model.type decoder_only or encoder_only; an encoder_decoder model reads "
             "data.*.src and data.*.tgt";
    return masking ? "is for model.type: encoder_only (masked language models)" : "";
  }
  const std::string name = type == ModelType::decoder_only ? "decoder_only" : "encoder_only";
  if (starts("data.") && (ends(".src") || ends(".tgt")))
    return "a " + name + " model reads monolingual text: use data.train.text, data.valid.text, data.test.text";
  if (key == "data.max_length_ratio" || key == "vocab.joint" || key == "vocab.src_model" || key == "vocab.tgt_model" ||
      key == "train.valid_beam_size" || key == "train.valid_samples" || key == "decode.beam_size" ||
      key == "decode.length_penalty" || key == "decode.max_length_a" || key == "decode.max_length_b")
    return "has no meaning for a " + name + " model (it has one text and does not translate)";
  if (type == ModelType::decoder_only && (key == "model.encoder_layers" || masking))
    return "has no meaning for a decoder_only model (it has no encoder and predicts the next piece)";
  if (type == ModelType::encoder_only && key == "model.decoder_layers")
    return "has no meaning for an encoder_only model (it has no decoder)";
  return "";
}

void validate(const Config& c, const std::string& origin) {
  auto require = [&](bool ok, const char* key, const auto&... why) {
    if (!ok) throw Error(concat(origin, ": ", key, " ", why...));
  };
  const auto& m = c.model;
  require(m.d_model > 0, "model.d_model", "must be positive, got ", m.d_model);
  require(m.heads > 0, "model.heads", "must be positive, got ", m.heads);
  require(m.d_model % m.heads == 0, "model.d_model", m.d_model, " is not divisible by model.heads ", m.heads);
  require(m.d_model % 2 == 0, "model.d_model", "must be even for sinusoidal positions, got ", m.d_model);
  require(m.ffn > 0, "model.ffn", "must be positive, got ", m.ffn);
  require(m.encoder_layers > 0, "model.encoder_layers", "must be positive, got ", m.encoder_layers);
  require(m.decoder_layers > 0, "model.decoder_layers", "must be positive, got ", m.decoder_layers);
  for (auto [key, p] : {std::pair{"model.dropout", m.dropout}, {"model.attention_dropout", m.attention_dropout},
                        {"model.activation_dropout", m.activation_dropout}})
    require(p >= 0.0f && p < 1.0f, key, "must be in [0, 1), got ", p);
  require(m.max_positions >= c.data.max_len + 1, "model.max_positions",
          "must cover data.max_len + 1 (", c.data.max_len + 1, "), got ", m.max_positions);
  require(m.layer_norm_eps > 0, "model.layer_norm_eps", "must be positive, got ", m.layer_norm_eps);
  require(c.vocab.size >= 8, "vocab.size", "must be at least 8, got ", c.vocab.size);
  require(c.model.type == ModelType::encoder_decoder || c.model.tying != EmbeddingTying::decoder,
          "model.tie_embeddings", "decoder has no meaning for a model of one text (one embedding table): use all (tied) or none");
  require(c.train.mlm_select > 0 && c.train.mlm_select <= 1, "train.mlm_select", "must be in (0, 1], got ",
          c.train.mlm_select);
  require(c.train.mlm_mask >= 0 && c.train.mlm_random >= 0 && c.train.mlm_mask + c.train.mlm_random <= 1,
          "train.mlm_mask", "and train.mlm_random must be shares that add up to at most 1, got ", c.train.mlm_mask,
          " and ", c.train.mlm_random);
  require(c.vocab.character_coverage > 0 && c.vocab.character_coverage <= 1, "vocab.character_coverage",
          "must be in (0, 1], got ", c.vocab.character_coverage);
  require(c.data.max_len >= 2, "data.max_len", "must be at least 2, got ", c.data.max_len);
  require(c.data.max_length_ratio == 0 || c.data.max_length_ratio >= 1, "data.max_length_ratio",
          "must be 0 (off) or at least 1, got ", c.data.max_length_ratio);
  const auto& t = c.train;
  require(!t.run_dir.empty(), "train.run_dir", "must not be empty");
  require(t.threads >= 1, "train.threads", "must be at least 1, got ", t.threads);
  require(t.replicas >= 1 && t.replicas <= t.threads, "train.replicas", "must be between 1 and train.threads (",
          t.threads, "), got ", t.replicas);
  require(t.batch_tokens >= c.data.max_len, "train.batch_tokens", "must hold one sentence of data.max_len (",
          c.data.max_len, "), got ", t.batch_tokens);
  require(t.update_freq >= 1, "train.update_freq", "must be at least 1, got ", t.update_freq);
  require(t.bucket_mb > 0, "train.bucket_mb", "must be positive, got ", t.bucket_mb);
  for (auto [key, n] : {std::pair{"train.max_steps", t.max_steps}, {"train.max_epochs", t.max_epochs},
                        {"train.valid_every", t.valid_every}, {"train.early_stopping", t.early_stopping},
                        {"train.warmup_steps", t.warmup_steps}, {"train.decay_steps", t.decay_steps}})
    require(n >= 0, key, "must not be negative, got ", n);
  require(t.max_time >= 0, "train.max_time", "must not be negative");
  require(t.log_every >= 1, "train.log_every", "must be at least 1, got ", t.log_every);
  require(t.save_every >= 1, "train.save_every", "must be at least 1, got ", t.save_every);
  require(t.keep_last >= 1, "train.keep_last", "must be at least 1, got ", t.keep_last);
  require(t.average_last >= 0 && t.average_last <= t.keep_last, "train.average_last",
          "must be in [0, train.keep_last] (", t.keep_last, "), got ", t.average_last);
  require(t.max_nonfinite >= 1, "train.max_nonfinite", "must be at least 1, got ", t.max_nonfinite);
  require(t.lr > 0, "train.lr", "must be positive, got ", t.lr);
  require(t.adam_beta1 >= 0 && t.adam_beta1 < 1, "train.adam_beta1", "must be in [0, 1), got ", t.adam_beta1);
  require(t.adam_beta2 >= 0 && t.adam_beta2 < 1, "train.adam_beta2", "must be in [0, 1), got ", t.adam_beta2);
  require(t.adam_eps > 0, "train.adam_eps", "must be positive, got ", t.adam_eps);
  require(t.weight_decay >= 0, "train.weight_decay", "must not be negative, got ", t.weight_decay);
  require(t.warmup_init_lr >= 0, "train.warmup_init_lr", "must not be negative, got ", t.warmup_init_lr);
  require(t.label_smoothing >= 0 && t.label_smoothing < 1, "train.label_smoothing", "must be in [0, 1), got ",
          t.label_smoothing);
  require(t.clip_norm >= 0, "train.clip_norm", "must not be negative, got ", t.clip_norm);
  require(t.ema_decay >= 0 && t.ema_decay < 1, "train.ema_decay", "must be in [0, 1), got ", t.ema_decay);
  require(t.valid_beam_size >= 1, "train.valid_beam_size", "must be at least 1, got ", t.valid_beam_size);
  require(c.vocab.joint || c.model.tying != EmbeddingTying::all, "vocab.joint",
          "false (one vocabulary per side) needs model.tie_embeddings decoder or none: one table cannot serve two vocabularies");
  require(c.vocab.joint || (c.vocab.src_model.empty() && c.vocab.tgt_model.empty()) ||
              c.vocab.src_model != c.vocab.tgt_model, "vocab.src_model", "and vocab.tgt_model must differ");
  require(t.valid_samples >= 0, "train.valid_samples", "must not be negative, got ", t.valid_samples);
  const auto& o = c.decode;
  require(o.beam_size >= 1, "decode.beam_size", "must be at least 1, got ", o.beam_size);
  require(o.batch_size >= 1, "decode.batch_size", "must be at least 1, got ", o.batch_size);
  require(o.max_length_a >= 0 && o.max_length_b >= 1, "decode.max_length_a",
          "and decode.max_length_b must allow at least one token");
}

}  // namespace rosetta::config_detail
