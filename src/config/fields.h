// The schema: every config key once, with its type, its place in Config and
// its help text. Loading, writing and describing defaults all walk this list.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

#include "rosetta/config/config.h"

namespace rosetta::config_detail {

struct Field {
  std::string key;   // dotted: "model.d_model"
  std::string help;
  std::function<void(const YAML::Node&)> set;  // throws Error with the reason (no key)
  std::function<YAML::Node()> get;
};

std::vector<Field> fields(Config& config);

// Impossible values, named by key; origin names the file.
void validate(const Config& config, const std::string& origin);
// Why key has no place in a config of this model type ("" when it has).
std::string misfit(const std::string& key, ModelType type);

}  // namespace rosetta::config_detail
