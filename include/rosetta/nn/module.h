// Module: a named tree of parameters. Each module registers its own
// parameters and children in its constructor; named_parameters() walks the
// tree in registration order with dotted names
// ("decoder.layers.0.self_attn.q_proj.weight"), the order checkpoints and
// optimizers use.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "rosetta/autograd/var.h"

namespace rosetta::nn {

using NamedParameters = std::vector<std::pair<std::string, Var>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;  // children are registered by address
  Module& operator=(const Module&) = delete;

  NamedParameters named_parameters() const;
  std::vector<Var> parameters() const;
  int64_t parameter_count() const;

 protected:
  Var register_parameter(const std::string& name, Tensor value);
  void register_module(const std::string& name, Module& child);

 private:
  void collect(const std::string& prefix, NamedParameters& out) const;
  NamedParameters parameters_;
  std::vector<std::pair<std::string, Module*>> children_;
};

}  // namespace rosetta::nn
