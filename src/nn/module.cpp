#include "rosetta/nn/module.h"

namespace rosetta::nn {

Var Module::register_parameter(const std::string& name, Tensor value) {
  Var v(std::move(value), true, name);
  parameters_.emplace_back(name, v);
  return v;
}

void Module::register_module(const std::string& name, Module& child) {
  children_.emplace_back(name, &child);
}

void Module::collect(const std::string& prefix, NamedParameters& out) const {
  for (const auto& [name, var] : parameters_) out.emplace_back(prefix + name, var);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

NamedParameters Module::named_parameters() const {
  NamedParameters out;
  collect("", out);
  return out;
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& [name, var] : named_parameters()) out.push_back(var);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, var] : named_parameters()) n += var.value().numel();
  return n;
}

}  // namespace rosetta::nn
