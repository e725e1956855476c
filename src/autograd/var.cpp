#include "rosetta/autograd/var.h"

#include <unordered_map>
#include <unordered_set>

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta {
namespace {

thread_local bool g_grad_enabled = true;

}  // namespace

Var::Var(Tensor value, bool requires_grad, std::string name)
    : node_(std::make_shared<detail::Node>()), value_(std::move(value)) {
  check(value_.defined(), "a Var needs a defined tensor");
  node_->shape = value_.shape();
  node_->requires_grad = requires_grad;
  node_->name = std::move(name);
}

void GradSink::accumulate_grad(const Tensor& g) const {
  detail::Node& n = *node_;
  check(g.shape() == n.shape, "gradient of shape ", shape_text(g.shape()),
        " for a value of shape ", shape_text(n.shape),
        n.name.empty() ? std::string() : " (" + n.name + ")");
  if (!n.grad.defined()) {
    // Leaves own their gradient (optimizers and clipping change it in place),
    // so they take g only when nothing else shares it; otherwise a copy.
    if (g.is_contiguous() && (!n.is_leaf || g.is_unique())) {
      n.grad = g;
    } else {
      n.grad = Tensor::empty(g.shape());
      kernels::copy(g, n.grad);
    }
    return;
  }
  if (n.is_leaf) {
    kernels::binary(kernels::BinaryOp::add, n.grad, kernels::contiguous(g), n.grad);
  } else {
    Tensor sum = Tensor::empty(g.shape());
    kernels::binary(kernels::BinaryOp::add, n.grad, kernels::contiguous(g), sum);
    n.grad = sum;
  }
}

Tensor GradSink::gradient_to_add_into() const {
  const detail::Node& n = *node_;
  // Leaves own their gradient; an op's is added into only when nothing else holds its storage.
  if (n.grad.defined() && n.grad.is_contiguous() && (n.is_leaf || n.grad.is_unique())) return n.grad;
  return Tensor();
}

void Var::attach_bf16_copy(Tensor copy) {
  check(value_.is_contiguous() && copy.numel() == (value_.numel() + 1) / 2, "a bf16 copy of ", copy.numel(),
        " floats for a value of shape ", shape_text(value_.shape()));
  bf16_copy_ = std::move(copy);
}

Var Var::from_op(Tensor value, const std::vector<Var>& inputs, BackwardFn backward) {
  Var out(std::move(value));
  if (!g_grad_enabled) return out;
  for (const Var& input : inputs) {
    if (input.defined() && input.requires_grad()) {
      out.node_->requires_grad = true;
      break;
    }
  }
  if (!out.node_->requires_grad) return out;
  out.node_->is_leaf = false;
  out.node_->backward = std::move(backward);
  for (const Var& input : inputs)
    if (input.defined() && input.requires_grad()) out.node_->inputs.push_back(input.node_);
  return out;
}

void backward(const Var& loss, const Tensor& grad_output, const LeafDoneFn& leaf_done) {
  check(loss.defined() && loss.requires_grad(),
        "backward() from a value that does not depend on any parameter");
  // Iterative depth-first post-order: inputs come before the nodes using them.
  // `order` owns the nodes: freeing one node's closure must not free an
  // input that is still waiting for its turn.
  std::vector<std::shared_ptr<detail::Node>> order;
  std::unordered_set<detail::Node*> visited;
  std::vector<std::pair<std::shared_ptr<detail::Node>, size_t>> stack{{loss.node(), 0}};
  visited.insert(loss.node().get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      std::shared_ptr<detail::Node> input = node->inputs[next++];
      if (visited.insert(input.get()).second) stack.emplace_back(std::move(input), 0);
    } else {
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  if (grad_output.defined()) {
    loss.accumulate_grad(grad_output);
  } else {
    check(loss.value().numel() == 1, "backward() without a gradient needs a one-element loss, got ",
          shape_text(loss.shape()));
    loss.accumulate_grad(Tensor::full(loss.shape(), 1.0f));
  }
  // With leaf_done: how many ops still owe each leaf a gradient.
  std::unordered_map<const detail::Node*, int> owed;
  if (leaf_done)
    for (const auto& node : order)
      for (const auto& input : node->inputs)
        if (input->is_leaf) ++owed[input.get()];
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    std::shared_ptr<detail::Node> node = std::move(*it);
    if (node->is_leaf) continue;
    if (node->grad.defined() && node->backward) node->backward(node->grad);
    if (leaf_done)
      for (const auto& input : node->inputs)
        if (input->is_leaf && --owed[input.get()] == 0) leaf_done(*input);
    // Free the graph as we go: the closure holds the tensors it saved.
    node->backward = nullptr;
    node->inputs.clear();
    node->grad = Tensor();
  }
}

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

}  // namespace rosetta
