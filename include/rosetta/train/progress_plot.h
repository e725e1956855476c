// An SVG picture of a run: training loss and validation BLEU against steps,
// rewritten at each validation so a browser shows how the run goes.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rosetta {

using Series = std::vector<std::pair<double, double>>;  // (step, value)

std::string progress_svg(const Series& train_loss, const Series& valid_bleu);

}  // namespace rosetta
