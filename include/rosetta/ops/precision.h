// The precision the ops compute in. fp32 everywhere, or bf16 matmuls (inputs
// rounded to bf16, fp32 accumulation and output) with every other op, the
// parameters, the optimizer, the loss and all statistics in fp32: the layers
// and the model do not change, only how the products are computed.
#pragma once

#include <string>

namespace rosetta::ops {

enum class Precision { fp32, bf16 };

void set_precision(Precision precision);  // process-wide
Precision precision();
const char* precision_name(Precision precision);

// oneDNN's best ISA with native bf16 dot products here ("avx512_core_amx",
// "avx512_core_bf16"), or "" where bf16 would be emulated.
std::string native_bf16_isa();

// "fp32", "bf16" or "auto" (bf16 where the CPU has native bf16 dot products):
// the precision to use, and why, for the log.
Precision resolve_precision(const std::string& setting, std::string* why = nullptr);

// Sets a precision for a scope and restores the previous one after.
class PrecisionScope {
 public:
  explicit PrecisionScope(Precision precision) : previous_(ops::precision()) { set_precision(precision); }
  ~PrecisionScope() { set_precision(previous_); }
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision previous_;
};

// Promises that no parameter changes inside the scope (translation,
// validation), so bf16 matmuls keep one bf16 copy of each weight instead of
// rounding it at every call. Scopes nest; the copies go with the outermost.
class FrozenWeightsScope {
 public:
  FrozenWeightsScope();
  ~FrozenWeightsScope();
  FrozenWeightsScope(const FrozenWeightsScope&) = delete;
  FrozenWeightsScope& operator=(const FrozenWeightsScope&) = delete;
};

}  // namespace rosetta::ops
