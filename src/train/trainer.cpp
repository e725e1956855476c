#include "rosetta/train/trainer.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include "rosetta/data/batcher.h"
#include "rosetta/data/text_file.h"
#include "rosetta/dist/process_group.h"
#include "rosetta/error.h"
#include "rosetta/io/atomic_file.h"
#include "rosetta/io/stable_hash.h"
#include "rosetta/json.h"
#include "rosetta/model/checkpoint.h"
#include "rosetta/model/transformer.h"
#include "rosetta/ops/engine_stats.h"
#include "rosetta/ops/precision.h"
#include "rosetta/tensor/threads.h"
#include "rosetta/train/checkpoint_average.h"
#include "rosetta/train/gradient_sum.h"
#include "rosetta/train/model_replicas.h"
#include "rosetta/train/optimizer.h"
#include "rosetta/train/progress_history.h"
#include "rosetta/train/progress_plot.h"
#include "rosetta/train/replicas.h"
#include "rosetta/train/run_folder.h"
#include "rosetta/train/stop_signal.h"
#include "rosetta/train/time_plan.h"
#include "rosetta/train/validation.h"

namespace rosetta {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string duration_text(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  char buffer[32];
  if (s >= 3600) std::snprintf(buffer, sizeof(buffer), "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else std::snprintf(buffer, sizeof(buffer), "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  return buffer;
}

// A one-line progress display on a terminal, overwritten each update and
// cleared before a log line.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled && ::isatty(2)) {}
  void show(const std::string& text) {
    if (!enabled_) return;
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    std::fflush(stderr);
    shown_ = true;
  }
  void clear() {
    if (!shown_) return;
    std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

// With several processes, every how many updates they compare parameter
// checksums (and before each checkpoint): a replica that drifted stops the run.
constexpr int64_t kReplicaCheckEvery = 200;

class Trainer {
 public:
  Trainer(const Config& config, const TrainHooks& hooks) : config_(config), hooks_(hooks), run_(config.train.run_dir) {}

  TrainResult run();

 private:
  void prepare_vocabularies(const Checkpoint* resume_from);
  void load_data();
  std::optional<Checkpoint> find_checkpoint();
  void restore(const Checkpoint& checkpoint);
  // What the batch plan and the data position depend on, as checkpoint records.
  std::map<std::string, std::string> plan_records(size_t batches) const;
  // A resumed run must see the plan its data position indexes.
  void check_plan(const std::map<std::string, std::string>& now) const;
  Checkpoint snapshot() const;
  // Writes a step checkpoint and prunes old ones; returns what it wrote.
  Checkpoint save_checkpoint_now();
  bool train_update();  // false when the update was skipped (non-finite)
  // kind: "valid" at an interval, "final" for final.ckpt (plotted as a point apart).
  ValidationResult validate(const std::string& kind = "valid");
  TokenMasking masking() const;  // a masked language model's; off for the others
  void log_progress(double loss, double nll, double grad_norm, float lr);
  void write_plot();
  // final.ckpt: the mean of the last train.average_last checkpoints, validated.
  void write_final_average(TrainResult& result);
  // The better of best.ckpt and final.ckpt on validation; unvalidated, final.ckpt, else the last checkpoint.
  std::string model_to_use(const TrainResult& result) const;
  // signalled: a stop signal reached this process (or, from the root's view, any).
  std::string stop_reason(bool signalled) const;
  // The stop reason every process agrees on: the root's clock decides, and a
  // signal that reached any process stops them all.
  std::string agreed_stop_reason();
  // Root's parameters replace the others' (at start, after resume, for final.ckpt).
  void broadcast_parameters() { rosetta::broadcast_parameters(group_, model_->named_parameters()); }
  // Every process holds the same parameters, or the run stops naming the rank.
  void check_replicas() { rosetta::check_replicas(group_, model_->named_parameters(), step_, last_checkpoint_); }
  void append_metrics(const std::string& json_line) const {
    if (group_.is_root()) run_.append_metrics(json_line);
  }
  // The next batch would start epoch train.max_epochs + 1.
  bool epochs_done(const DataPosition& position) const;
  double elapsed() const {
    if (hooks_.elapsed) return hooks_.elapsed(step_);
    return elapsed_before_ + std::chrono::duration<double>(Clock::now() - started_).count();
  }
  // A linear schedule with no end in updates ends with the time budget (see
  // TimePlan: counted at the end of warm-up, recounted as the run goes).
  bool plans_from_time() const {
    const auto& t = config_.train;
    return t.schedule == ScheduleKind::linear && t.decay_steps == 0 && t.max_steps == 0 && t.max_time > 0;
  }
  void plan_updates();
  float current_rate() const;

  Config config_;
  TrainHooks hooks_;
  RunFolder run_;
  Vocabularies vocabularies_;
  std::unique_ptr<Transformer> model_;
  std::unique_ptr<Adam> adam_;
  std::unique_ptr<ExponentialAverage> ema_;
  ParallelCorpus train_corpus_;
  ValidationSet valid_;
  bool have_valid_ = false;
  // A language model (decoder_only) or masked language model (encoder_only):
  // one text, validated by perplexity instead of BLEU.
  const bool monolingual_ = config_.model.type != ModelType::encoder_decoder;
  const bool masked_ = config_.model.type == ModelType::encoder_only;
  std::unique_ptr<BatchStream> stream_;
  std::unique_ptr<GradientSum> gradients_;
  std::unique_ptr<ModelReplicas> replicas_;  // train.replicas > 1
  dist::ProcessGroup& group_ = dist::world();

  // Training state (saved in checkpoints).
  int64_t step_ = 0;
  DataPosition data_position_;
  int64_t epoch_ = 1;
  double best_bleu_ = monolingual_ ? std::numeric_limits<double>::lowest() : -1;  // the best validation score
  int64_t bad_validations_ = 0;
  int64_t nonfinite_in_row_ = 0;
  double elapsed_before_ = 0;
  TimePlan time_plan_;  // plans_from_time(): where the rate reaches zero
  double final_score_ = std::nan("");  // final.ckpt's validation score (as best_bleu_), NaN: none
  int64_t saved_step_ = -1;      // the step of the newest checkpoint written or resumed from
  std::map<std::string, std::string> plan_;             // this run's plan records
  std::map<std::string, std::string> resumed_plan_;     // the checkpoint's, when resuming
  std::string resumed_from_;
  int64_t resumed_processes_ = 1;

  // Progress since the last log line.
  Clock::time_point started_ = Clock::now();
  Clock::time_point window_start_ = Clock::now();
  int64_t window_target_tokens_ = 0;
  int64_t window_flops_start_ = 0;  // the products' count at the window's start, pauses taken out
  double window_loss_sum_ = 0, window_nll_sum_ = 0;
  int64_t window_updates_ = 0;
  double last_loss_ = 0;
  ProgressData plot_;
  std::string last_checkpoint_;
  ProgressLine progress_{dist::world().is_root()};
};

void Trainer::prepare_vocabularies(const Checkpoint* resume_from) {
  if (resume_from) {
    vocabularies_ = Vocabularies::from_texts(resume_from->texts, "the checkpoint");
    return;
  }
  // The root trains or loads them in the run folder; the others take its copy.
  std::string packed;
  if (group_.is_root()) {
    vocabularies_ = load_or_train_vocabularies(config_.vocab, config_.data.train, run_.root(), config_.train.seed,
                                               masked_ ? std::vector<std::string>{kMaskPiece} : std::vector<std::string>{});
    if (!group_.distributed()) return;
    std::map<std::string, std::string> texts;
    vocabularies_.store(texts);
    std::vector<std::string> fields;
    for (const auto& [key, value] : texts) fields.insert(fields.end(), {key, value});
    packed = pack_strings(fields);
  }
  group_.broadcast(packed);
  if (group_.is_root()) return;
  const std::vector<std::string> fields = unpack_strings(packed);
  std::map<std::string, std::string> texts;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) texts[fields[i]] = fields[i + 1];
  vocabularies_ = Vocabularies::from_texts(texts, "rank 0");
}

void Trainer::load_data() {
  if (monolingual_) {
    check(!config_.data.train.text.empty(), "data.train.text must name the training text (a model of one text)");
  } else {
    check(!config_.data.train.src.empty() && !config_.data.train.tgt.empty(),
          "data.train.src and data.train.tgt must name the training text");
  }
  const CorpusFilter filter{config_.data.max_len, config_.data.max_length_ratio};
  // The root encodes first and leaves its cache; the others then read it
  // (or, on a machine of their own, encode and cache for themselves).
  if (!group_.is_root()) group_.barrier();
  train_corpus_ = ParallelCorpus::load(config_.data.train, vocabularies_, filter, run_.path("cache"),
                                       config_.vocab.sampling);
  have_valid_ = config_.data.valid.monolingual() || (!config_.data.valid.src.empty() && !config_.data.valid.tgt.empty());
  if (have_valid_ && monolingual_) {
    valid_.corpus = ParallelCorpus::load(config_.data.valid, vocabularies_, {config_.data.max_len, 0}, run_.path("cache"), false);
  } else if (have_valid_) {
    // Validation loss on the pairs that fit; BLEU on every line, as a user scores.
    valid_.corpus = ParallelCorpus::load(config_.data.valid, vocabularies_, {config_.data.max_len, 0}, run_.path("cache"), false);
    valid_.sources = read_lines(config_.data.valid.src);
    valid_.references = read_lines(config_.data.valid.tgt);
  }
  if (group_.is_root()) group_.barrier();
}

std::optional<Checkpoint> Trainer::find_checkpoint() {
  // The root reads the run folder; the others resume from the bytes it sends
  // (their machines need not hold the run folder).
  std::optional<Checkpoint> found;
  std::string bytes;
  if (group_.is_root()) {
    for (const std::string& path : run_.checkpoints()) {
      try {
        bytes = read_checkpoint_file(path);
        found = parse_checkpoint(bytes, path);
        resumed_from_ = path;
        break;
      } catch (const Error& e) {
        spdlog::warn("skipping a damaged checkpoint: {}", e.what());
        bytes.clear();
      }
    }
  }
  if (group_.distributed()) {
    group_.broadcast(resumed_from_);
    group_.broadcast(bytes);
    if (!group_.is_root() && !bytes.empty()) found = parse_checkpoint(bytes, resumed_from_ + " (from rank 0)");
  }
  if (found) {
    spdlog::info("resuming from {}", resumed_from_);
    last_checkpoint_ = resumed_from_;
  }
  return found;
}

Checkpoint Trainer::snapshot() const {
  Checkpoint c;
  c.texts["config"] = to_yaml(config_);
  vocabularies_.store(c.texts);
  c.texts["state/step"] = std::to_string(step_);
  c.texts["state/epoch"] = std::to_string(epoch_);
  c.texts["state/data_epoch"] = std::to_string(data_position_.epoch);
  c.texts["state/data_batch"] = std::to_string(data_position_.batch);
  c.texts["state/processes"] = std::to_string(group_.size());
  c.texts["state/best_bleu"] = json_line(best_bleu_);
  c.texts["state/bad_validations"] = std::to_string(bad_validations_);
  c.texts["state/elapsed"] = json_line(elapsed());
  time_plan_.store(c.texts);
  for (const auto& [key, value] : plan_) c.texts[key] = value;
  store_parameters(*model_, c);
  adam_->save(c);
  if (ema_) ema_->save(c);
  return c;
}

void Trainer::restore(const Checkpoint& c) {
  restore_parameters(c, *model_);
  adam_->restore(c);
  if (ema_) ema_->restore(c);
  step_ = std::stoll(c.text("state/step"));
  epoch_ = std::stoll(c.text("state/epoch"));
  data_position_ = {std::stoll(c.text("state/data_epoch")), std::stoll(c.text("state/data_batch"))};
  resumed_processes_ = c.has_text("state/processes") ? std::stoll(c.text("state/processes")) : 1;
  saved_step_ = step_;
  best_bleu_ = std::stod(c.text("state/best_bleu"));
  bad_validations_ = std::stoll(c.text("state/bad_validations"));
  elapsed_before_ = std::stod(c.text("state/elapsed"));
  time_plan_.restore(c.texts, config_.train.warmup_steps);
  for (const auto& [key, value] : c.texts)
    if (key.rfind("state/plan/", 0) == 0) resumed_plan_[key] = value;
}

std::map<std::string, std::string> Trainer::plan_records(size_t batches) const {
  const auto& t = config_.train;
  return {{"state/plan/batch_tokens", std::to_string(t.batch_tokens)},
          {"state/plan/seed", std::to_string(t.seed)},
          {"state/plan/update_freq", std::to_string(t.update_freq)},
          {"state/plan/batches_per_update", std::to_string(t.update_freq * group_.size())},
          {"state/plan/corpus", hex64(train_corpus_.fingerprint())},
          {"state/plan/batches", std::to_string(batches)}};
}

void Trainer::check_plan(const std::map<std::string, std::string>& now) const {
  if (resumed_from_.empty()) return;
  if (resumed_plan_.empty()) {
    spdlog::warn("{} predates batch-plan records: cannot check that train.batch_tokens, train.seed and the training "
                 "data are those it was trained with",
                 resumed_from_);
    return;
  }
  const auto stored = [&](const std::string& key) {
    const auto it = resumed_plan_.find(key);
    return it == resumed_plan_.end() ? std::string("?") : it->second;
  };
  for (const char* key : {"batch_tokens", "seed"}) {
    const std::string record = concat("state/plan/", key), was = stored(record);
    check(was == now.at(record), "cannot resume from ", resumed_from_, ": train.", key, " is ", now.at(record),
          " but the run was trained with ", was, ", and its saved data position indexes the batches that value made. Set "
          "it back (--set train.", key, "=", was, ") or start a new train.run_dir");
  }
  check(stored("state/plan/corpus") == now.at("state/plan/corpus") &&
            stored("state/plan/batches") == now.at("state/plan/batches"),
        "cannot resume from ", resumed_from_, ": the training data are not those the run was trained with (data.train "
        "files, the vocabulary, data.max_len or data.max_length_ratio changed), and its saved data position indexes "
        "the old batches. Restore them or start a new train.run_dir");
  // Processes x update_freq batches make an update: what a resume must keep to
  // repeat the uninterrupted run (older checkpoints: one process).
  const std::string was = resumed_plan_.count("state/plan/batches_per_update") ? stored("state/plan/batches_per_update")
                                                                                 : stored("state/plan/update_freq");
  const std::string is = now.at("state/plan/batches_per_update");
  if (was != is)
    spdlog::warn("an update takes {} batches ({} process{} x train.update_freq {}), the run was trained with {} ({} "
                 "process{}): training goes on from the same batch, but no longer repeats what an uninterrupted run "
                 "would have done. Keep processes x update_freq = {} for the same batches an update",
                 is, group_.size(), group_.size() == 1 ? "" : "es", config_.train.update_freq, was, resumed_processes_,
                 resumed_processes_ == 1 ? "" : "es", was);
  else if (resumed_processes_ != group_.size())
    spdlog::info("the run was saved by {} process{}; {} go{} on from its data position (epoch {}, batch {}) with the "
                 "same {} batches an update",
                 resumed_processes_, resumed_processes_ == 1 ? "" : "es", group_.size(),
                 group_.size() == 1 ? "es" : "", data_position_.epoch, data_position_.batch, is);
}

Checkpoint Trainer::save_checkpoint_now() {
  const std::string path = run_.checkpoint_path(step_);
  check_replicas();
  last_checkpoint_ = path;
  saved_step_ = step_;
  if (!group_.is_root()) return {};  // one process writes
  Checkpoint checkpoint = snapshot();
  save_checkpoint(checkpoint, path);
  run_.prune(config_.train.keep_last);
  last_checkpoint_ = path;
  spdlog::info("saved {}", path);
  return checkpoint;
}

bool Trainer::train_update() {
  const auto& t = config_.train;
  // An update takes update_freq x processes consecutive batches of the one
  // plan; process r computes batches r, r + processes, ... of them.
  const int64_t processes = group_.size(), rank = group_.rank();
  std::vector<Batch> mine;
  std::vector<DataPosition> mine_from;
  std::vector<int64_t> my_tokens(t.update_freq, 0);
  int64_t taken = 0;
  for (int64_t i = 0; i < t.update_freq * processes; ++i, ++taken) {
    if (i > 0 && epochs_done(stream_->position())) break;  // the last update takes what is left of the last epoch
    DataPosition from;
    Batch batch = stream_->next(&from);
    epoch_ = from.epoch;
    if (i % processes != rank) continue;
    my_tokens[i / processes] = batch.target_tokens;
    mine.push_back(std::move(batch));
    mine_from.push_back(from);
  }
  data_position_ = stream_->position();
  // Batch i of the update sits at all[(i mod processes) x update_freq + i / processes].
  const auto slot = [&](int64_t i) { return (i % processes) * t.update_freq + i / processes; };
  const std::vector<int64_t> all_tokens = group_.all_gather(my_tokens);
  int64_t target_tokens = 0;
  for (int64_t i = 0; i < taken; ++i) target_tokens += all_tokens[slot(i)];
  // The update's loss is the mean over all its target tokens: each batch's
  // mean weighs in by its share of them. Dropout draws from the batch's data
  // position: the same masks whichever process computes it, after a resume
  // too, and new ones after a skipped update.
  std::vector<double> my_sums(2 * t.update_freq, 0.0);
  // With several processes the others wait in this update's collectives: an
  // error here ends them all, once this process has said what it was.
  try {
    for (size_t k = 0; k < mine.size(); ++k) {
      const Batch& batch = mine[k];
      const DataPosition& at = mine_from[k];
      const uint64_t dropout_seed = mix64(mix64(mix64(t.seed * 7919 + 17) + static_cast<uint64_t>(at.epoch)) +
                                          static_cast<uint64_t>(at.batch));
      if (replicas_) {  // the batch's pieces side by side; their gradients end in the model's
        if (k == 0) replicas_->copy_values();
        const ModelReplicas::Sums sums = replicas_->forward_backward(batch, target_tokens, t.label_smoothing, dropout_seed);
        my_sums[2 * k] = sums.loss;
        my_sums[2 * k + 1] = sums.nll;
        if (k + 1 < mine.size()) gradients_->add_backward();
        continue;
      }
      Rng dropout(dropout_seed);
      const float share = static_cast<float>(batch.target_tokens) / static_cast<float>(target_tokens);
      double nll = 0;
      Var loss = model_->loss(batch.src, batch.tgt_in, batch.tgt_out, t.label_smoothing, &dropout, &nll);
      my_sums[2 * k] = loss.value().item() * batch.target_tokens;
      my_sums[2 * k + 1] = nll * batch.target_tokens;
      if (k + 1 < mine.size()) {
        backward(loss, Tensor::scalar(share));
        gradients_->add_backward();
      } else {  // the last pass: with several processes its buckets are summed while it runs
        backward(loss, Tensor::scalar(share), gradients_->leaf_done());
      }
    }
    gradients_->finish();
  } catch (const std::exception& e) {
    if (group_.distributed()) {
      spdlog::error("{}", e.what());
      spdlog::default_logger()->flush();
      group_.abort(1);
    }
    throw;
  }
  const std::vector<double> all_sums = group_.all_gather(my_sums);
  double loss_sum = 0, nll_sum = 0;
  for (int64_t i = 0; i < taken; ++i) {
    loss_sum += all_sums[2 * slot(i)];
    nll_sum += all_sums[2 * slot(i) + 1];
  }
  const auto parameters = model_->named_parameters();
  if (hooks_.after_backward) hooks_.after_backward(step_ + 1, parameters);
  const double grad_norm = global_grad_norm(parameters);
  const double loss = loss_sum / target_tokens, nll = nll_sum / target_tokens;
  if (!std::isfinite(grad_norm) || !std::isfinite(loss)) {
    adam_->zero_grad();
    ++nonfinite_in_row_;
    spdlog::warn("step {}: non-finite {} (loss {}, gradient norm {}); update skipped ({} in a row)", step_ + 1,
                 std::isfinite(loss) ? "gradient" : "loss", loss, grad_norm, nonfinite_in_row_);
    check(nonfinite_in_row_ < t.max_nonfinite, "stopping: ", nonfinite_in_row_,
          " non-finite updates in a row (train.max_nonfinite); the last good checkpoint is ",
          last_checkpoint_.empty() ? std::string("none yet") : last_checkpoint_);
    return false;
  }
  nonfinite_in_row_ = 0;
  // Clipping scales the gradients inside Adam's pass rather than in one of its own.
  const float clip = t.clip_norm > 0 && grad_norm > t.clip_norm ? static_cast<float>(t.clip_norm / (grad_norm + 1e-6)) : 1.0f;
  ++step_;
  if (plans_from_time() && ((!time_plan_.planned() && step_ >= std::max<int64_t>(t.warmup_steps, 1)) ||
                            (t.recount_schedule && time_plan_.recount_due(step_))))
    plan_updates();
  const float lr = current_rate();
  adam_->step(lr, clip);
  adam_->zero_grad();
  if (ema_) ema_->update(parameters);
  last_loss_ = loss;
  window_loss_sum_ += loss;
  window_nll_sum_ += nll;
  window_target_tokens_ += target_tokens;
  ++window_updates_;
  if (step_ % t.log_every == 0) {
    log_progress(window_loss_sum_ / window_updates_, window_nll_sum_ / window_updates_, grad_norm, lr);
  } else {
    const int64_t next_log = (step_ / t.log_every + 1) * t.log_every;
    std::string bar(20, '.');
    const int64_t filled = 20 * (t.log_every - (next_log - step_)) / t.log_every;
    std::fill_n(bar.begin(), filled, '#');
    progress_.show(concat("[", bar, "] step ", step_, " loss ", loss, " lr ", lr));
  }
  return true;
}

void Trainer::log_progress(double loss, double nll, double grad_norm, float lr) {
  progress_.clear();
  const double window = std::chrono::duration<double>(Clock::now() - window_start_).count();
  const double tokens_per_sec = window > 0 ? window_target_tokens_ / window : 0;
  const int64_t flops_now = product_flops();
  const double gflops = window > 0 ? (flops_now - window_flops_start_) / window * 1e-9 : 0;
  const double sec_per_step = window / std::max<int64_t>(window_updates_, 1);
  const auto& t = config_.train;
  double eta = -1;
  if (t.max_steps > 0) eta = (t.max_steps - step_) * sec_per_step;
  if (t.max_time > 0) eta = eta < 0 ? t.max_time - elapsed() : std::min(eta, t.max_time - elapsed());
  if (t.max_epochs > 0 && eta < 0) {
    const int64_t left = (t.max_epochs - data_position_.epoch) * stream_->batches_per_epoch() +
                         (stream_->batches_per_epoch() - data_position_.batch);
    eta = left * sec_per_step / t.update_freq;
  }
  spdlog::info("epoch {} step {} loss {:.4f} ppl {:.2f} lr {:.3e} gnorm {:.3f} tgt_tok/s {:.0f} GFLOP/s {:.0f} elapsed {} "
               "eta {}",
               epoch_, step_, loss, std::exp(nll), lr, grad_norm, tokens_per_sec, gflops, duration_text(elapsed()),
               eta < 0 ? std::string("-") : duration_text(std::max(eta, 0.0)));
  append_metrics(json_line({{"type", "train"},
                            {"step", step_},
                            {"epoch", epoch_},
                            {"loss", loss},
                            {"nll", nll},
                            {"ppl", std::exp(nll)},
                            {"lr", lr},
                            {"grad_norm", grad_norm},
                            {"tgt_tokens_per_sec", tokens_per_sec},
                            {"product_gflops_per_sec", gflops},
                            {"elapsed_sec", elapsed()}}));
  plot_.train_loss.emplace_back(static_cast<double>(step_), loss);
  plot_.learning_rate.emplace_back(static_cast<double>(step_), lr);
  window_start_ = Clock::now();
  window_target_tokens_ = 0;
  window_flops_start_ = flops_now;
  window_loss_sum_ = window_nll_sum_ = 0;
  window_updates_ = 0;
}

TokenMasking Trainer::masking() const {
  if (!masked_) return {};
  const int32_t mask_id = vocabularies_.source->id_of(kMaskPiece);
  check(mask_id >= 0, "the vocabulary (vocab.model) has no ", kMaskPiece,
        " piece: a masked language model needs one (delete the model file to train one that has it)");
  return {.enabled = true,
          .select = config_.train.mlm_select,
          .mask = config_.train.mlm_mask,
          .random = config_.train.mlm_random,
          .mask_id = mask_id,
          .first_random_id = mask_id + 1,  // user symbols come right after the specials
          .vocab_size = vocabularies_.source->vocab_size()};
}

ValidationResult Trainer::validate(const std::string& kind) {
  progress_.clear();
  const auto start = Clock::now();
  if (ema_) ema_->swap_into(model_->named_parameters());  // the EMA weights are the ones validated
  const ValidationResult r = validate_model(*model_, vocabularies_, valid_, config_, masking(), group_);
  if (ema_) ema_->swap_into(model_->named_parameters());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::string scores = fmt::format("loss {:.4f} ppl {:.2f}", r.loss, std::exp(r.nll));
  if (masked_) scores += fmt::format(" masked-piece accuracy {:.2f}%", 100 * r.accuracy);
  if (!monolingual_) scores += fmt::format(" BLEU {:.2f} ({})", r.bleu, r.signature);
  spdlog::info("{} step {}: {} in {:.1f}s", kind == "final" ? "final.ckpt validation" : "validation", step_, scores,
               seconds);
  const size_t samples = std::min<size_t>(static_cast<size_t>(config_.train.valid_samples), r.hypotheses.size());
  for (size_t i = 0; i < samples; ++i)
    spdlog::info("  sample {}: {} => {} (reference: {})", i + 1, valid_.sources[i], r.hypotheses[i],
                 valid_.references[i]);
  Json line = {{"type", kind},       {"step", step_},         {"epoch", epoch_},
               {"valid_loss", r.loss}, {"valid_nll", r.nll}, {"valid_ppl", std::exp(r.nll)}};
  if (masked_) line["valid_accuracy"] = r.accuracy;
  if (!monolingual_) {
    line["valid_bleu"] = r.bleu;
    line["bleu_signature"] = r.signature;
  }
  line["elapsed_sec"] = elapsed();
  append_metrics(json_line(line));
  const double score = plotted_score(monolingual_, r.nll, r.bleu);
  if (kind == "valid") {
    plot_.valid_loss.emplace_back(static_cast<double>(step_), r.loss);
    plot_.valid_score.emplace_back(static_cast<double>(step_), score);
  } else {
    plot_.final_score.emplace_back(static_cast<double>(step_), score);
  }
  write_plot();
  return r;
}

void Trainer::write_plot() {
  if (!group_.is_root()) return;
  plot_.title = concat(fs::path(run_.root()).filename().string(), ": ", step_, " updates, epoch ", epoch_, ", ",
                       duration_text(elapsed()));
  const int64_t beam = config_.train.valid_beam_size;
  plot_.score_name = monolingual_ ? "perplexity" : beam == 1 ? "BLEU (greedy)" : fmt::format("BLEU (beam {})", beam);
  write_file_atomically(run_.path("progress.svg"), progress_svg(plot_));
}

void Trainer::write_final_average(TrainResult& result) {
  const int64_t k = config_.train.average_last;
  if (k < 1) return;
  result.final_checkpoint = run_.path("final.ckpt");
  if (group_.is_root()) {  // the run ends with a checkpoint, so there is one to average
    std::vector<std::string> newest = run_.checkpoints();  // newest first
    newest.resize(std::min<size_t>(newest.size(), static_cast<size_t>(k)));
    const std::vector<std::string> inputs(newest.rbegin(), newest.rend());
    average_checkpoints(inputs, result.final_checkpoint);
    spdlog::info("final.ckpt: the mean of {} checkpoint{} (steps up to {})", inputs.size(),
                 inputs.size() == 1 ? "" : "s", step_);
  }
  if (!have_valid_) return;
  ema_.reset();  // validate the averaged weights themselves
  if (group_.is_root()) restore_parameters(load_checkpoint(result.final_checkpoint), *model_);
  broadcast_parameters();
  const ValidationResult v = validate("final");
  result.final_bleu = v.bleu;
  final_score_ = v.score(monolingual_);
}

std::string Trainer::model_to_use(const TrainResult& result) const {
  const bool best = !result.best_checkpoint.empty(), final = !result.final_checkpoint.empty();
  if (final && best && std::isfinite(final_score_)) return final_score_ >= best_bleu_ ? result.final_checkpoint : result.best_checkpoint;
  if (best) return result.best_checkpoint;
  return final ? result.final_checkpoint : result.last_checkpoint;
}

void Trainer::plan_updates() {
  const auto& t = config_.train;
  const double now = elapsed();
  const bool first = !time_plan_.planned();
  int64_t end = time_plan_.proposed_end(step_, now, t.max_time);
  group_.broadcast(std::span<int64_t>(&end, 1));  // the root's clock plans for all
  const int64_t before = time_plan_.end();
  time_plan_.count(step_, now, end);
  if (first)
    spdlog::info("schedule: {:.2f}s an update so far; the learning rate reaches zero at update {} (train.max_time {})",
                 now / static_cast<double>(step_), end, duration_text(t.max_time));
  else
    spdlog::info("schedule: recounted at update {} from the pace since the last count: zero at update {} instead of {}",
                 step_, end, before);
}

float Trainer::current_rate() const {
  const auto& t = config_.train;
  if (plans_from_time() && time_plan_.planned()) return static_cast<float>(t.lr * time_plan_.fraction(step_));
  return learning_rate(t, step_);
}

std::string Trainer::agreed_stop_reason() {
  if (!group_.distributed()) return stop_reason(stop_requested());
  const int64_t signalled = stop_requested() ? 1 : 0;
  int64_t any = 0;
  for (int64_t s : group_.all_gather(std::span<const int64_t>(&signalled, 1))) any |= s;
  std::string reason = group_.is_root() ? stop_reason(any != 0) : std::string();
  group_.broadcast(reason);
  return reason;
}

std::string Trainer::stop_reason(bool signalled) const {
  const auto& t = config_.train;
  if (signalled) return "signal";
  if (time_plan_.planned() && step_ >= time_plan_.end()) return "planned_updates";
  if (t.max_steps > 0 && step_ >= t.max_steps) return "max_steps";
  if (t.max_time > 0 && elapsed() >= t.max_time) return "max_time";
  if (epochs_done(data_position_)) return "max_epochs";
  if (t.early_stopping > 0 && bad_validations_ >= t.early_stopping) return "early_stopping";
  return "";
}

bool Trainer::epochs_done(const DataPosition& p) const {
  const int64_t last = config_.train.max_epochs;
  return last > 0 && (p.epoch > last || (p.epoch == last && p.batch >= static_cast<int64_t>(stream_->batches_per_epoch())));
}

TrainResult Trainer::run() {
  const auto& t = config_.train;
  set_num_threads(static_cast<int>(t.threads));
  std::string precision_why;
  const char* precision_setting = t.precision == PrecisionChoice::bf16 ? "bf16"
                                  : t.precision == PrecisionChoice::automatic ? "auto" : "fp32";
  const ops::PrecisionScope precision(ops::resolve_precision(precision_setting, &precision_why));
  spdlog::info("precision: {}", precision_why);
  if (group_.distributed())  // reading the executable and the data twice is for several processes only
    check_processes_agree(group_, {{"binary", executable_checksum()}, {"config", shared_config_text(config_)}});
  std::optional<Checkpoint> resume = find_checkpoint();
  prepare_vocabularies(resume ? &*resume : nullptr);
  if (group_.is_root()) write_file_atomically(run_.path("config.yaml"), to_yaml(config_));
  load_data();
  ModelConfig model_config = config_.model;
  model_config.src_vocab_size = vocabularies_.source->vocab_size();
  model_config.vocab_size = vocabularies_.target->vocab_size();
  Rng init_rng(t.seed);
  model_ = std::make_unique<Transformer>(model_config, init_rng);
  config_.model = model_->config();
  adam_ = std::make_unique<Adam>(model_->named_parameters(), t);
  if (t.ema_decay > 0) ema_ = std::make_unique<ExponentialAverage>(model_->named_parameters(), t.ema_decay);
  if (resume) restore(*resume);
  resume.reset();
  broadcast_parameters();  // one model, whatever each process initialised
  if (t.replicas > 1) {
    replicas_ = std::make_unique<ModelReplicas>(*model_, t.replicas, t.threads);
    spdlog::info("{} copies of the model train side by side, {} thread{} each; a batch is split between them",
                 t.replicas, std::max<int64_t>(1, t.threads / t.replicas), t.threads / t.replicas == 1 ? "" : "s");
  }
  gradients_ = std::make_unique<GradientSum>(model_->named_parameters(), group_,
                                             std::max<int64_t>(1, static_cast<int64_t>(t.bucket_mb * (1 << 20) / 4)));
  if (group_.distributed()) {
    spdlog::info("data parallel: {} processes x update_freq {} x batch_tokens {}: an update takes {} batches",
                 group_.size(), t.update_freq, t.batch_tokens, group_.size() * t.update_freq);
    spdlog::info("gradients summed across processes in {} bucket{} of about {} MB{}", gradients_->buckets(),
                 gradients_->buckets() == 1 ? "" : "s", t.bucket_mb,
                 group_.threads_may_communicate() ? ", each while the backward pass goes on"
                                                  : " after the backward pass (MPI allows no second thread)");
  }
  if (!resumed_from_.empty() && group_.is_root()) {  // the plot goes on with the updates before the resume
    ProgressHistory history = read_progress_history(run_.path("metrics.jsonl"), step_, monolingual_);
    plot_ = std::move(history.plot);
    final_score_ = history.final_score;
  }
  if (group_.distributed()) {
    std::string valid_text;
    for (const auto* lines : {&valid_.sources, &valid_.references})
      for (const std::string& line : *lines) valid_text += line + "\n";
    check_processes_agree(group_, {{"training data", hex64(train_corpus_.fingerprint())},
                                   {"validation data", have_valid_ ? stable_hash_hex(valid_text) : "none"}});
  }
  const BatchPlan plan = make_batches(train_corpus_, t.batch_tokens, t.seed);
  plan_ = plan_records(plan.size());
  check_plan(plan_);
  spdlog::info("model: {} parameters; training: {} {} in {} batches an epoch; {} threads", model_->parameter_count(),
               train_corpus_.size(), monolingual_ ? "sentences" : "pairs", plan.size(), num_threads());
  const SubwordSampling sampling{config_.vocab.sampling, config_.vocab.sampling_alpha, &vocabularies_, t.batch_tokens,
                                 config_.data.max_len};
  stream_ = std::make_unique<BatchStream>(train_corpus_, plan, t.seed, data_position_, sampling, 16,
                                         StreamShard{group_.rank(), group_.size()}, masking());
  started_ = window_start_ = Clock::now();
  window_flops_start_ = product_flops();

  TrainResult result;
  const int64_t first_step = step_;
  std::string reason = agreed_stop_reason();
  if (!reason.empty() && !last_checkpoint_.empty() && group_.is_root())
    spdlog::warn("{} already ended ({} at step {}): nothing to train. Raise the limit (--set train.{}=...) to go on, "
                 "or give another train.run_dir to start over",
                 run_.root(), reason, step_, reason == "planned_updates" ? "max_time" : reason);
  while (reason.empty()) {
    if (!train_update()) {  // skipped (non-finite): the step did not advance, so nothing to validate or save
      reason = agreed_stop_reason();
      continue;
    }
    reason = agreed_stop_reason();
    const bool at_end = !reason.empty();
    // A run validates at its interval and once more at its end (not when a signal asks it to hurry).
    const auto pause_start = Clock::now();  // validation and saving stay out of tokens/s and GFLOP/s
    const int64_t flops_before_pause = product_flops();
    const bool validate_now =
        have_valid_ && t.valid_every > 0 && step_ > 0 && (step_ % t.valid_every == 0 || (at_end && reason != "signal"));
    if (validate_now) {
      const ValidationResult v = validate();
      const bool improved = v.score(monolingual_) > best_bleu_;
      bad_validations_ = improved ? 0 : bad_validations_ + 1;
      if (improved) best_bleu_ = v.score(monolingual_);
      const Checkpoint saved = save_checkpoint_now();
      if (improved && group_.is_root()) {
        save_checkpoint(saved, run_.best_path());
        if (monolingual_) spdlog::info("new best validation perplexity {:.2f}: {}", std::exp(-best_bleu_), run_.best_path());
        else spdlog::info("new best validation BLEU {:.2f}: {}", best_bleu_, run_.best_path());
      }
    } else if (step_ % t.save_every == 0 || at_end) {
      save_checkpoint_now();
    } else if (step_ % kReplicaCheckEvery == 0) {
      check_replicas();
    }
    window_start_ += Clock::now() - pause_start;
    window_flops_start_ += product_flops() - flops_before_pause;
    if (validate_now) reason = agreed_stop_reason();  // early stopping counts this validation
  }
  if (saved_step_ != step_) save_checkpoint_now();  // the step, not a path: every rank decides alike
  write_plot();  // validated or not, every run ends with its picture
  if (reason != "signal") {
    int64_t kept = step_ == first_step && fs::exists(run_.path("final.ckpt")) ? 1 : 0;
    group_.broadcast(std::span<int64_t>(&kept, 1));  // the root's folder decides
    if (kept) {  // nothing trained since it was written: its score is the metrics' last "final" line
      result.final_checkpoint = run_.path("final.ckpt");
      if (!monolingual_ && std::isfinite(final_score_)) result.final_bleu = final_score_;
    } else {
      write_final_average(result);
    }
  }
  const EngineStats engine = engine_stats();
  spdlog::info("stopped ({}) at step {}, epoch {}, after {}; tensors: peak {} MiB, {} MiB cached; {} oneDNN primitives "
               "({} made in {:.1f}s)",
               reason, step_, epoch_, duration_text(elapsed()), engine.peak_tensor_bytes >> 20,
               engine.cached_tensor_bytes >> 20, engine.cached_primitives, engine.created_primitives,
               engine.primitive_seconds);
  result.steps = step_;
  result.epochs = epoch_;
  // best_bleu_ holds the best validation score: BLEU, or a language model's -nll.
  if (monolingual_) {
    result.best_ppl = best_bleu_ > std::numeric_limits<double>::lowest() ? std::exp(-best_bleu_) : -1;
  } else {
    result.best_bleu = best_bleu_;
  }
  result.last_loss = last_loss_;
  result.last_checkpoint = last_checkpoint_;
  result.best_checkpoint = fs::exists(run_.best_path()) ? run_.best_path() : "";
  result.model_checkpoint = model_to_use(result);
  if (group_.is_root()) spdlog::info("the model to use: {}", result.model_checkpoint);
  result.stop_reason = reason;
  return result;
}

}  // namespace

TrainResult train(const Config& config, const TrainHooks& hooks) { return Trainer(config, hooks).run(); }

}  // namespace rosetta
