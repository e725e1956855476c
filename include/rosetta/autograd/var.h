// Reverse-mode automatic differentiation, define-by-run.
//
// A Var is a value in the graph: a tensor, its gradient, and (for results of
// ops) a closure that adds the gradient into the op's inputs. Ops run their
// kernels at once and record that closure; backward(loss) sorts the graph
// reachable from the loss (iteratively, so long graphs cannot overflow the
// stack) and runs the closures in reverse. Each closure is dropped as soon as
// it has run, so the graph frees itself during the backward pass, and
// intermediate gradients are dropped once passed on.
//
// Memory: the graph links nodes, not values. A value lives as long as some
// Var handle holds it (user code, or a closure that reads it in the
// backward); closures that only pass a gradient on hold a GradSink, which
// does not keep the value. So, as in PyTorch, the forward keeps only what
// the backward will read.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rosetta/tensor/tensor.h"

namespace rosetta {

class Var;
// Receives the gradient of the op's output; adds into its inputs' gradients.
using BackwardFn = std::function<void(const Tensor& grad_output)>;

namespace detail {
struct Node {
  Shape shape;  // of the value, which the node does not hold
  Tensor grad;
  bool requires_grad = false;
  bool is_leaf = true;
  std::string name;
  std::vector<std::shared_ptr<Node>> inputs;
  BackwardFn backward;
};
}  // namespace detail

// Where a backward closure sends an input's gradient, when it does not read
// the input's value.
class GradSink {
 public:
  GradSink() = default;
  explicit GradSink(std::shared_ptr<detail::Node> node) : node_(std::move(node)) {}
  bool requires_grad() const { return node_ && node_->requires_grad; }
  const Shape& shape() const { return node_->shape; }
  // Adds g into the gradient (the closures' one way to pass gradients on).
  void accumulate_grad(const Tensor& g) const;
  // The gradient so far when a closure may add into it where it lies
  // (defined, contiguous, and a leaf's or shared with nothing), else an
  // undefined tensor: a product then adds its result as it writes it,
  // where accumulate_grad would take a new tensor and an add pass.
  Tensor gradient_to_add_into() const;

 private:
  std::shared_ptr<detail::Node> node_;
};

class Var {
 public:
  Var() = default;
  // A leaf. Parameters are leaves with requires_grad and a name.
  explicit Var(Tensor value, bool requires_grad = false, std::string name = {});

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const { return value_; }
  // For optimizers and loaders: change the values in place (every copy of
  // this Var shares the storage), never assign another tensor. Drops the
  // bf16 copy, which would no longer match.
  Tensor& mutable_value() {
    bf16_copy_ = Tensor();
    return value_;
  }
  // The value rounded to bf16 (nearest, ties to even; two to a float, in the
  // value's row-major order), when the op that made the value wrote it on
  // the way: the products that read the value in bf16 take it instead of
  // each rounding the value again (a layer norm's output feeds three
  // projections). Undefined when no op attached one; only the op that makes
  // a value attaches it, before anyone else holds the Var.
  const Tensor& bf16_copy() const { return bf16_copy_; }
  void attach_bf16_copy(Tensor copy);
  const Shape& shape() const { return value_.shape(); }
  const Tensor& grad() const { return node_->grad; }  // undefined until a backward reaches it
  bool requires_grad() const { return node_->requires_grad; }
  bool is_leaf() const { return node_->is_leaf; }
  const std::string& name() const { return node_->name; }

  GradSink sink() const { return GradSink(node_); }
  void accumulate_grad(const Tensor& g) const { sink().accumulate_grad(g); }
  void zero_grad() { node_->grad = Tensor(); }
  void set_grad(Tensor g) { node_->grad = std::move(g); }

  // The result of an op: records backward when grad mode is on and an input
  // requires a gradient; otherwise a plain constant.
  static Var from_op(Tensor value, const std::vector<Var>& inputs, BackwardFn backward);

  const std::shared_ptr<detail::Node>& node() const { return node_; }

 private:
  std::shared_ptr<detail::Node> node_;
  Tensor value_;
  Tensor bf16_copy_;
};

// Called during a backward pass once a leaf's gradient is complete (every op
// that used the leaf has passed its share on), so it can be sent elsewhere
// while the rest of the pass runs.
using LeafDoneFn = std::function<void(const detail::Node& leaf)>;

// Runs the backward pass from a one-element loss (seeded with 1, or with
// grad_output when given).
void backward(const Var& loss, const Tensor& grad_output = Tensor(), const LeafDoneFn& leaf_done = {});

// Grad mode: while a NoGradGuard lives on this thread, ops record nothing.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace rosetta
