// A model ready to translate, from one self-contained checkpoint: its config,
// vocabularies and weights (the averaged ones when the run kept an EMA).
#pragma once

#include <memory>
#include <string>

#include "rosetta/config/config.h"
#include "rosetta/data/vocabularies.h"
#include "rosetta/model/transformer.h"

namespace rosetta {

struct LoadedModel {
  Config config;
  Vocabularies vocabularies;
  std::unique_ptr<Transformer> model;
  bool averaged_weights = false;
};

LoadedModel load_model(const std::string& checkpoint_path, bool prefer_averaged = true);

}  // namespace rosetta
