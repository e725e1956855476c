// Every attention weight of one sentence pair as one self-contained HTML
// page (no network): pick a kind, layer and head; hover a token to see what
// it attends to (and, on the other side, what attends to it); the page's
// address (#kind=cross&layer=1&head=0&query=3) keeps what is shown, so a
// view can be shared or screenshotted as it is.
#pragma once

#include <string>

#include "rosetta/inspect/attention_map.h"

namespace rosetta {

std::string attention_html(const AttentionMap& map);

}  // namespace rosetta
