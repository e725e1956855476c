#include "rosetta/tensor/extents.h"

#include "rosetta/error.h"

namespace rosetta {

void throw_too_many_axes(size_t axes) {
  throw Error(concat("a tensor of ", axes, " axes: at most ", Extents::kCapacity, " are supported"));
}

}  // namespace rosetta
