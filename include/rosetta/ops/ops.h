// The op catalogue: every differentiable op, one line each with its shape
// contract. Each op checks shapes, runs its kernel now, and records the
// closure that passes the gradient back (forward and backward sit side by
// side in src/ops/<file>.cpp, named in the group header). A test fails when
// an op here has no row in the gradient-check table (tests/ops/gradcheck_test.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "rosetta/autograd/var.h"
#include "rosetta/tensor/random.h"

namespace rosetta::ops {

// ---- products (matmul.cpp) ----------------------------------------------
// [..., M, K] @ [..., K, N] -> [..., M, N], times alpha; equal batch extents.
// transpose_a / transpose_b read a as [..., K, M] / b as [..., N, K] (no copy).
Var matmul(const Var& a, const Var& b, bool transpose_a = false, bool transpose_b = false,
           float alpha = 1.0f);
// Attention's two products over projections [B, T, H * Dh] whose heads are
// views, so no copy splits or merges heads either way: each product reads
// and writes the projections' layout, and so do their gradients.
// Scores scale * Q_h K_h^T: q [B, T, H * Dh], k [B, S, H * Dh] -> [B, H, T, S].
Var attention_scores(const Var& q, const Var& k, int64_t heads, float scale);
// Context P_h V_h, heads merged: p [B, H, T, S], v [B, S, H * Dh] -> [B, T, H * Dh].
Var attention_context(const Var& p, const Var& v, int64_t heads);
// [..., In] x weight [Out, In] (+ bias [Out]) -> [..., Out]; bias may be undefined.
Var linear(const Var& x, const Var& weight, const Var& bias);
// relu(linear(x, weight, bias)) in one pass: the ReLU is the product's post-op.
Var linear_relu(const Var& x, const Var& weight, const Var& bias);

// ---- arithmetic with NumPy broadcasting (arithmetic.cpp) ----------------
Var add(const Var& a, const Var& b);    // broadcast(a, b)
Var sub(const Var& a, const Var& b);    // broadcast(a, b)
Var mul(const Var& a, const Var& b);    // broadcast(a, b)
Var scale(const Var& x, float factor);  // same shape as x
// x + c, c broadcast to x and never differentiated: attention masks (-inf
// entries hide positions from a following softmax) and positional tables.
Var add_constant(const Var& x, const Tensor& c);

// ---- activations and normalisation (activation.cpp, softmax.cpp, layer_norm.cpp)
Var relu(const Var& x);  // same shape
Var gelu(const Var& x);  // same shape; erf form
Var softmax(const Var& x);      // over the last axis
Var log_softmax(const Var& x);  // over the last axis
// [..., D] with gain [D], bias [D] -> [..., D]
Var layer_norm(const Var& x, const Var& gain, const Var& bias, float eps = 1e-5f);

// layer_norm(add(x, dropout(h, p)), gain, bias) in one op (a post-norm
// block's end), with dropout's draw and mask (none when dropout_rng is null
// or p == 0) and fp32 statistics; x and h [..., D].
Var residual_layer_norm(const Var& x, const Var& h, float p, Rng* dropout_rng, const Var& gain, const Var& bias,
                        float eps = 1e-5f);

// linear(dropout(relu(linear(x, w1, b1)), p), w2, b2) in one op, with the
// separate ops' values and random draws (none when dropout_rng is null or
// p == 0), in fewer passes over the [..., hidden] activations.
Var feed_forward_relu(const Var& x, const Var& w1, const Var& b1, const Var& w2, const Var& b2, float p,
                      Rng* dropout_rng);

// ---- regularisation (dropout.cpp) ---------------------------------------
// Zeroes each element with probability p and scales the rest by 1/(1-p);
// the identity when p == 0. Draws one key from rng per call.
Var dropout(const Var& x, float p, Rng& rng);

// ---- lookup (embedding.cpp) ---------------------------------------------
// table [V, D], ids (ids_shape, row-major) -> ids_shape + [D]. Rows looked up
// by padding_id get no gradient (-1: none).
Var embedding(const Var& table, const std::vector<int32_t>& ids, const Shape& ids_shape,
              int32_t padding_id = -1);

// ---- views and layout (layout.cpp) ---------------------------------------
Var reshape(const Var& x, const Shape& shape);           // one extent may be -1
Var permute(const Var& x, const std::vector<int>& order);
Var transpose(const Var& x, int axis0, int axis1);
Var narrow(const Var& x, int axis, int64_t start, int64_t length);
Var contiguous(const Var& x);

// ---- reductions (reduce.cpp) ---------------------------------------------
Var sum(const Var& x);   // -> []
Var mean(const Var& x);  // -> []
Var sum(const Var& x, int axis, bool keepdim = false);

// ---- loss (cross_entropy.cpp) ---------------------------------------------
// logits [N, V], targets [N] -> [] : the mean over rows whose target is not
// ignore_id of (1 - eps) * -log p[target] + (eps / V) * sum_v -log p[v].
// nll, when given, receives the mean of -log p[target] over the same rows.
Var cross_entropy(const Var& logits, const std::vector<int32_t>& targets, float smoothing = 0.0f,
                  int32_t ignore_id = -1, double* nll = nullptr);
// log softmax(logits[r])[tokens[r]] for each row of logits [N, V] (no
// gradient): the score of a token picked from the logits themselves.
std::vector<float> token_log_probabilities(const Tensor& logits, const std::vector<int32_t>& tokens);
// cross_entropy(linear(hidden, weight, bias), ...) without the [N, V] logits:
// hidden [N, D], weight [V, D], bias [V] or undefined. Chunks of rows go
// through the product, the loss and (when gradients are wanted) both
// backward products while they are in cache.
Var linear_cross_entropy(const Var& hidden, const Var& weight, const Var& bias, const std::vector<int32_t>& targets,
                         float smoothing = 0.0f, int32_t ignore_id = -1, double* nll = nullptr);

}  // namespace rosetta::ops
