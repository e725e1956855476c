#include "rosetta/ops/precision.h"

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::ops {

void set_precision(Precision precision) {
  kernels::set_matmul_precision(precision == Precision::bf16 ? kernels::Precision::bf16 : kernels::Precision::fp32);
}

Precision precision() {
  return kernels::matmul_precision() == kernels::Precision::bf16 ? Precision::bf16 : Precision::fp32;
}

const char* precision_name(Precision precision) { return precision == Precision::bf16 ? "bf16" : "fp32"; }

std::string native_bf16_isa() { return kernels::native_bf16_isa(); }

Precision resolve_precision(const std::string& setting, std::string* why) {
  const auto say = [&](const std::string& text) {
    if (why) *why = text;
  };
  if (setting == "fp32") {
    say("fp32 as configured");
    return Precision::fp32;
  }
  const std::string isa = native_bf16_isa();
  if (setting == "bf16") {
    say(isa.empty() ? "bf16 as configured (this CPU has no native bf16 dot products: oneDNN emulates them, slowly)"
                    : concat("bf16 as configured (", isa, ")"));
    return Precision::bf16;
  }
  check(setting == "auto", "precision must be fp32, bf16 or auto, got '", setting, "'");
  if (isa.empty()) {
    say("auto: fp32, as this CPU has no native bf16 dot products");
    return Precision::fp32;
  }
  say(concat("auto: bf16 matmuls, as this CPU has native bf16 dot products (", isa, ")"));
  return Precision::bf16;
}

FrozenWeightsScope::FrozenWeightsScope() { kernels::begin_frozen_weights(); }
FrozenWeightsScope::~FrozenWeightsScope() { kernels::end_frozen_weights(); }

}  // namespace rosetta::ops
