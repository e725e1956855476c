#include "rosetta/train/checkpoint_average.h"

#include "rosetta/data/vocabularies.h"
#include "rosetta/error.h"
#include "rosetta/model/checkpoint.h"

namespace rosetta {

void average_checkpoints(const std::vector<std::string>& inputs, const std::string& output) {
  check(!inputs.empty(), "average: no checkpoints given");
  Checkpoint result;
  std::vector<std::pair<std::string, std::vector<double>>> sums;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Checkpoint c = load_checkpoint(inputs[k]);
    std::vector<std::pair<std::string, const Tensor*>> params;
    for (const auto& [name, t] : c.tensors)
      if (name.rfind("param/", 0) == 0) params.emplace_back(name, &t);
    if (k == 0) {
      for (const auto& [name, t] : params) sums.emplace_back(name, std::vector<double>(t->numel(), 0.0));
    }
    check(params.size() == sums.size(), inputs[k], " has ", params.size(), " parameters, ", inputs[0], " has ", sums.size());
    for (size_t p = 0; p < params.size(); ++p) {
      check(params[p].first == sums[p].first && static_cast<size_t>(params[p].second->numel()) == sums[p].second.size(),
            inputs[k], ": parameter ", params[p].first, " does not match ", inputs[0]);
      const float* v = params[p].second->data();
      for (size_t i = 0; i < sums[p].second.size(); ++i) sums[p].second[i] += v[i];
    }
    if (k + 1 == inputs.size()) {
      result.texts["config"] = c.text("config");
      // The vocabularies as stored: "vocab" (joint) or "vocab/src" and "vocab/tgt".
      Vocabularies::from_texts(c.texts, inputs[k]).store(result.texts);
      result.texts["state/step"] = c.has_text("state/step") ? c.text("state/step") : "0";
      for (size_t p = 0; p < params.size(); ++p) {
        Tensor mean = Tensor::empty(params[p].second->shape());
        for (size_t i = 0; i < sums[p].second.size(); ++i)
          mean.data()[i] = static_cast<float>(sums[p].second[i] / static_cast<double>(inputs.size()));
        result.tensors.emplace_back(sums[p].first, mean);
      }
    }
  }
  std::string sources;
  for (const auto& in : inputs) sources += (sources.empty() ? "" : ",") + in;
  result.texts["state/averaged_from"] = sources;
  save_checkpoint(result, output);
}

}  // namespace rosetta
