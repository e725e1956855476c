#include "rosetta/train/progress_history.h"

#include <fstream>

#include "rosetta/json.h"

namespace rosetta {

namespace {

// The number under key in a metrics line, or NaN (no such key, null, not a number).
double json_field(const Json& line, const char* key) {
  const auto it = line.find(key);
  return it != line.end() && it->is_number() ? it->get<double>() : std::nan("");
}

}  // namespace

ProgressHistory read_progress_history(const std::string& metrics_path, int64_t up_to_step, bool language_model) {
  ProgressHistory history;
  ProgressData& plot = history.plot;
  const auto score_of = [&](const Json& line) {
    return plotted_score(language_model, json_field(line, "valid_nll"), json_field(line, "valid_bleu"));
  };
  std::ifstream in(metrics_path);
  for (std::string text; std::getline(in, text);) {
    const Json line = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!line.is_object()) continue;  // a line cut by a crash
    const double step = json_field(line, "step");
    if (!(step <= static_cast<double>(up_to_step))) continue;  // lines past the checkpoint are redone
    const std::string type = line.value("type", "");
    if (type == "train") {
      plot.train_loss.emplace_back(step, json_field(line, "loss"));
      plot.learning_rate.emplace_back(step, json_field(line, "lr"));
    } else if (type == "valid") {
      plot.valid_loss.emplace_back(step, json_field(line, "valid_loss"));
      plot.valid_score.emplace_back(step, score_of(line));
    } else if (type == "final") {  // an earlier end of this run (raised limits go on from it)
      plot.final_score.emplace_back(step, score_of(line));
      history.final_score = language_model ? -json_field(line, "valid_nll") : json_field(line, "valid_bleu");
    }
  }
  return history;
}

}  // namespace rosetta
