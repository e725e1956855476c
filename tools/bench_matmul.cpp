// Micro-benchmark: GFLOP/s of a forward+backward through the engine's matmul
// op (autograd, allocation, primitive cache included) next to the same three
// products run as bare, pre-built oneDNN primitives, for the shapes of a
// 256-wide Transformer, at 1 and 2 threads. The ratio shows the engine's own
// overhead. fp32, then bf16 (inputs bf16, outputs f32) where the CPU has
// native bf16. Prints one JSON line per precision, shape and thread count.
//
//   bench_matmul [--seconds S]
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rosetta/ops/ops.h"
#include "rosetta/ops/precision.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Problem {
  std::string name;
  int64_t batch, m, k, n;  // [batch, M, K] @ [batch, K, N]
  bool transpose_b;        // attention scores read K as [batch, N, K]
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs body until min_seconds have passed (after one warm-up call); returns seconds per call.
template <typename Body>
double time_per_call(double min_seconds, Body body) {
  body();
  int calls = 0;
  const auto start = Clock::now();
  do {
    body();
    ++calls;
  } while (seconds_since(start) < min_seconds);
  return seconds_since(start) / calls;
}

dnnl::memory::desc md(std::vector<int64_t> dims, std::vector<int64_t> strides,
                      dnnl::memory::data_type type = dnnl::memory::data_type::f32) {
  return dnnl::memory::desc(dims, type, strides);
}

// The three products of a forward+backward as bare oneDNN primitives:
// C = A B, dA = dC B^T, dB = A^T dC (transposes as strides, as the engine does).
// In bf16 the inputs are bf16 and the outputs f32, as the engine's bf16 mode;
// the engine also pays for rounding its inputs, the bare primitives do not.
double bare_onednn(const Problem& p, double min_seconds, bool bf16) {
  using dnnl::memory;
  const memory::data_type in = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const int64_t B = p.batch, M = p.m, K = p.k, N = p.n;
  std::vector<float> a(B * M * K, 0.5f), b(B * K * N, 0.25f), c(B * M * N), dc(B * M * N, 1.0f),
      da(B * M * K), db(B * K * N);
  // b stored as [B, K, N] or, for transpose_b, as [B, N, K].
  const auto b_desc = p.transpose_b ? md({B, K, N}, {K * N, 1, K}, in) : md({B, K, N}, {K * N, N, 1}, in);
  const auto bt_desc = p.transpose_b ? md({B, N, K}, {K * N, K, 1}, in) : md({B, N, K}, {K * N, 1, N}, in);
  const auto a_desc = md({B, M, K}, {M * K, K, 1}, in), at_desc = md({B, K, M}, {M * K, 1, K}, in);
  const auto c_desc = md({B, M, N}, {M * N, N, 1}), dc_desc = md({B, M, N}, {M * N, N, 1}, in);
  const auto da_desc = md({B, M, K}, {M * K, K, 1});
  const auto db_desc = p.transpose_b ? md({B, N, K}, {K * N, K, 1}) : md({B, K, N}, {K * N, N, 1});
  // For a transposed b the engine computes dB = dC^T A straight into b's [B, N, K] layout.
  const auto ct_desc = md({B, N, M}, {M * N, 1, N}, in);
  auto make = [&](const memory::desc& x, const memory::desc& y, const memory::desc& z) {
    return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(x, y, z), engine));
  };
  auto fwd = make(a_desc, b_desc, c_desc);
  auto bwd_a = make(dc_desc, bt_desc, da_desc);
  auto bwd_b = p.transpose_b ? make(ct_desc, a_desc, db_desc) : make(at_desc, dc_desc, db_desc);
  memory A(a_desc, engine, a.data()), Bm(b_desc, engine, b.data()), C(c_desc, engine, c.data());
  memory dC(dc_desc, engine, dc.data()), Bt(bt_desc, engine, b.data()), dA(da_desc, engine, da.data());
  memory At(at_desc, engine, a.data()), dCt(ct_desc, engine, dc.data());
  memory dB(db_desc, engine, db.data());
  return time_per_call(min_seconds, [&] {
    fwd.execute(stream, {{DNNL_ARG_SRC, A}, {DNNL_ARG_WEIGHTS, Bm}, {DNNL_ARG_DST, C}});
    bwd_a.execute(stream, {{DNNL_ARG_SRC, dC}, {DNNL_ARG_WEIGHTS, Bt}, {DNNL_ARG_DST, dA}});
    if (p.transpose_b)
      bwd_b.execute(stream, {{DNNL_ARG_SRC, dCt}, {DNNL_ARG_WEIGHTS, A}, {DNNL_ARG_DST, dB}});
    else
      bwd_b.execute(stream, {{DNNL_ARG_SRC, At}, {DNNL_ARG_WEIGHTS, dC}, {DNNL_ARG_DST, dB}});
    stream.wait();
  });
}

double engine_op(const Problem& p, double min_seconds, bool bf16) {
  using namespace rosetta;
  const ops::PrecisionScope precision(bf16 ? ops::Precision::bf16 : ops::Precision::fp32);
  const Shape a_shape = p.batch == 1 ? Shape{p.m, p.k} : Shape{p.batch, p.m, p.k};
  Shape b_shape = p.transpose_b ? Shape{p.n, p.k} : Shape{p.k, p.n};
  if (p.batch != 1) b_shape.insert(b_shape.begin(), p.batch);
  Var a(Tensor::full(a_shape, 0.5f), true), b(Tensor::full(b_shape, 0.25f), true);
  const Shape c_shape = ops::matmul(a, b, false, p.transpose_b).shape();
  const Tensor seed = Tensor::full(c_shape, 1.0f);
  return time_per_call(min_seconds, [&] {
    a.zero_grad();
    b.zero_grad();
    backward(ops::matmul(a, b, false, p.transpose_b), seed);
  });
}

}  // namespace

int main(int argc, char** argv) {
  double min_seconds = 1.0;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--seconds") == 0) min_seconds = std::atof(argv[i + 1]);
  const std::vector<Problem> problems = {
      {"ffn_in 4096x256x1024", 1, 4096, 256, 1024, false},
      {"ffn_out 4096x1024x256", 1, 4096, 1024, 256, false},
      {"vocab 4096x256x8000", 1, 4096, 256, 8000, false},
      {"attn_scores 256x(64x64x64)^T", 256, 64, 64, 64, true},
      {"attn_values 256x(64x64x64)", 256, 64, 64, 64, false},
  };
  double load[3] = {0, 0, 0};
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  std::printf("{\"bench\":\"matmul\",\"loadavg_1m\":%.2f}\n", load[0]);
  const bool have_bf16 = !rosetta::ops::native_bf16_isa().empty();
  for (const bool bf16 : {false, true}) {
    if (bf16 && !have_bf16) continue;  // oneDNN would emulate it: nothing worth timing
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      for (const Problem& p : problems) {
        const double flops = 3.0 * 2.0 * p.batch * p.m * p.k * p.n;
        const double bare = flops / bare_onednn(p, min_seconds, bf16) / 1e9;
        const double engine = flops / engine_op(p, min_seconds, bf16) / 1e9;
        std::printf(
            "{\"shape\":\"%s\",\"precision\":\"%s\",\"threads\":%d,\"engine_gflops\":%.1f,"
            "\"onednn_gflops\":%.1f,\"engine_vs_onednn\":%.3f}\n",
            p.name.c_str(), bf16 ? "bf16" : "fp32", threads, engine, bare, engine / bare);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
