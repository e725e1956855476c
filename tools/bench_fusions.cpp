// Micro-benchmark: each fused op of the training step against the ops it
// replaces, forward + backward, at 1 and 2 threads, the two taking turns
// in one process (a VM's drift hits both alike). Prints one JSON line per
// fusion and thread count, with the load average.
//
//   bench_fusions [--reps N] [--only FUSION]   default 60 turns each (the first 10 not timed), every fusion
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "rosetta/autograd/var.h"
#include "rosetta/ops/ops.h"
#include "rosetta/ops/precision.h"
#include "rosetta/tensor/random.h"

namespace {

using namespace rosetta;
using Clock = std::chrono::steady_clock;

Tensor uniform(const Shape& shape, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform() - 0.5f;
  return t;
}

// Runs apart() and fused() in turns; returns milliseconds per call of each.
std::pair<double, double> take_turns(int reps, const std::function<void()>& apart, const std::function<void()>& fused) {
  double spent[2] = {0, 0};
  for (int rep = 0; rep < reps; ++rep) {
    for (int which = 0; which < 2; ++which) {
      const auto start = Clock::now();
      (which == 0 ? apart : fused)();
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (rep >= 10) spent[which] += seconds;
    }
  }
  const int timed = reps > 10 ? reps - 10 : 1;
  return {spent[0] / timed * 1e3, spent[1] / timed * 1e3};
}

void report(const char* fusion, const char* shape, int threads, std::pair<double, double> ms) {
  std::printf("{\"fusion\":\"%s\",\"shape\":\"%s\",\"threads\":%d,\"apart_ms\":%.3f,\"fused_ms\":%.3f,\"speedup\":%.3f}\n",
              fusion, shape, threads, ms.first, ms.second, ms.first / ms.second);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 60;
  std::string only;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
  }
  const std::vector<std::string> fusions = {"linear_cross_entropy", "residual_layer_norm", "feed_forward_relu",
                                            "attention_products"};
  if (!only.empty() && std::find(fusions.begin(), fusions.end(), only) == fusions.end()) {
    std::string names;
    for (const std::string& name : fusions) names += (names.empty() ? "" : ", ") + name;
    std::fprintf(stderr, "bench_fusions: --only %s is no fusion here (%s)\n", only.c_str(), names.c_str());
    return 2;
  }
  auto wanted = [&](const char* fusion) { return only.empty() || only == fusion; };
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  std::printf("{\"bench\":\"fusions\",\"loadavg_1m\":%.2f}\n", load);
  for (const int threads : {1, 2}) {
    omp_set_num_threads(threads);
    if (wanted("linear_cross_entropy")) {
      // The vocabulary's projection and loss, multi30k-small's [4096 tokens, 256] and 8k classes, bf16 where
      // the CPU has it: the fused op (chunks, the gradients made in the forward) against the two ops.
      const ops::PrecisionScope scope(ops::native_bf16_isa().empty() ? ops::Precision::fp32 : ops::Precision::bf16);
      Var hidden(uniform({4096, 256}, 11), true), weight(uniform({8000, 256}, 12), true);
      std::vector<int32_t> targets(4096);
      for (size_t i = 0; i < targets.size(); ++i) targets[i] = static_cast<int32_t>((i * 7919) % 8000);
      auto run = [&](bool fused) {
        hidden.zero_grad();
        weight.zero_grad();
        backward(fused ? ops::linear_cross_entropy(hidden, weight, Var(), targets, 0.1f, 0)
                       : ops::cross_entropy(ops::linear(hidden, weight, Var()), targets, 0.1f, 0));
      };
      report("linear_cross_entropy", ops::native_bf16_isa().empty() ? "4096x256 @ 8000x256 fp32"
                                                                    : "4096x256 @ 8000x256 bf16",
             threads, take_turns(reps, [&] { run(false); }, [&] { run(true); }));
    }
    if (wanted("residual_layer_norm")) {
      // A post-norm block's end: layer_norm(x + dropout(h)), multi30k-small's [4096 tokens, 256].
      Var x(uniform({4096, 256}, 1), true), h(uniform({4096, 256}, 2), true);
      Var gain(uniform({256}, 3), true), bias(uniform({256}, 4), true);
      const Tensor seed = uniform({4096, 256}, 5);
      auto run = [&](bool fused) {
        for (Var* v : {&x, &h, &gain, &bias}) v->zero_grad();
        Rng rng(6);
        backward(fused ? ops::residual_layer_norm(x, h, 0.1f, &rng, gain, bias)
                       : ops::layer_norm(ops::add(x, ops::dropout(h, 0.1f, rng)), gain, bias),
                 seed);
      };
      report("residual_layer_norm", "4096x256 fp32", threads,
             take_turns(reps, [&] { run(false); }, [&] { run(true); }));
    }
    if (wanted("feed_forward_relu")) {
      // The feed-forward block, multi30k-small's [4096 tokens, 256] through 1,024 ReLU units with dropout
      // 0.1, bf16 where the CPU has it: the fused op against linear_relu, dropout and linear.
      const ops::PrecisionScope scope(ops::native_bf16_isa().empty() ? ops::Precision::fp32 : ops::Precision::bf16);
      Var x(uniform({4096, 256}, 21), true), w1(uniform({1024, 256}, 22), true), b1(uniform({1024}, 23), true);
      Var w2(uniform({256, 1024}, 24), true), b2(uniform({256}, 25), true);
      const Tensor seed = uniform({4096, 256}, 26);
      auto run = [&](bool fused) {
        for (Var* v : {&x, &w1, &b1, &w2, &b2}) v->zero_grad();
        Rng rng(27);
        backward(fused ? ops::feed_forward_relu(x, w1, b1, w2, b2, 0.1f, &rng)
                       : ops::linear(ops::dropout(ops::linear_relu(x, w1, b1), 0.1f, rng), w2, b2),
                 seed);
      };
      report("feed_forward_relu", ops::native_bf16_isa().empty() ? "4096x256 -> 1024 -> 256 fp32" : "4096x256 -> 1024 -> 256 bf16",
             threads, take_turns(reps, [&] { run(false); }, [&] { run(true); }));
    }
    if (wanted("attention_products")) {
      // Attention's two products over the projections, their heads views, bf16 where the CPU has it.
      const ops::PrecisionScope scope(ops::native_bf16_isa().empty() ? ops::Precision::fp32 : ops::Precision::bf16);
      const int64_t batch = 292, length = 14, heads = 4, head_width = 64, width = heads * head_width;
      Var q(uniform({batch, length, width}, 7), true), k(uniform({batch, length, width}, 8), true);
      Var v(uniform({batch, length, width}, 9), true);
      const Tensor seed = uniform({batch, length, width}, 10);
      auto split = [&](const Var& x) { return ops::permute(ops::reshape(x, {batch, length, heads, head_width}), {0, 2, 1, 3}); };
      auto run = [&](bool by_views) {
        for (Var* x : {&q, &k, &v}) x->zero_grad();
        const Var p = ops::softmax(by_views ? ops::attention_scores(q, k, heads, 0.125f)
                                            : ops::matmul(split(q), split(k), false, true, 0.125f));
        backward(by_views ? ops::attention_context(p, v, heads)
                          : ops::reshape(ops::permute(ops::matmul(p, split(v)), {0, 2, 1, 3}), {batch, length, width}),
                 seed);
      };
      report("attention_products", ops::native_bf16_isa().empty() ? "292x14x256, 4 heads, fp32" : "292x14x256, 4 heads, bf16",
             threads, take_turns(reps, [&] { run(false); }, [&] { run(true); }));
    }
  }
  return 0;
}
