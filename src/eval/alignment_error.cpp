#include "rosetta/eval/alignment_error.h"

#include <set>
#include <sstream>
#include <utility>

#include "rosetta/error.h"

namespace rosetta {

namespace {

using Links = std::set<std::pair<int64_t, int64_t>>;

// Reads "i-j" (sure) and, when possible is given, "i?j" / "ipj" links.
void parse_links(const std::string& line, Links& sure, Links* possible, const std::string& name, size_t line_number) {
  std::istringstream in(line);
  for (std::string link; in >> link;) {
    const size_t at = link.find_first_of("-?p");
    const bool is_sure = at != std::string::npos && link[at] == '-';
    int64_t i = -1, j = -1;
    size_t used_i = 0, used_j = 0;
    try {
      if (at != std::string::npos && at > 0 && at + 1 < link.size()) {
        i = std::stoll(link.substr(0, at), &used_i);
        j = std::stoll(link.substr(at + 1), &used_j);
      }
    } catch (const std::exception&) {
      i = -1;
    }
    const bool well_formed = i >= 0 && j >= 0 && used_i == at && used_j == link.size() - at - 1;
    check(well_formed && (is_sure || possible), name, " line ", line_number, ": '", link, "' is not a link (",
          possible ? "i-j sure, i?j or ipj possible" : "i-j", ", from 0)");
    if (is_sure) sure.emplace(i, j);
    if (possible) possible->emplace(i, j);  // sure links are possible too
  }
}

}  // namespace

AlignmentScores alignment_error(const std::vector<std::string>& gold, const std::vector<std::string>& hypothesis,
                                const std::string& gold_name, const std::string& hypothesis_name) {
  check(gold.size() == hypothesis.size(), "line counts differ: ", gold_name, " has ", gold.size(), " lines, ",
        hypothesis_name, " has ", hypothesis.size());
  AlignmentScores scores;
  int64_t a_and_s = 0, a_and_p = 0;
  for (size_t n = 0; n < gold.size(); ++n) {
    Links sure, possible, links;
    parse_links(gold[n], sure, &possible, gold_name, n + 1);
    const size_t bar = hypothesis[n].rfind(" ||| ");
    parse_links(bar == std::string::npos ? hypothesis[n] : hypothesis[n].substr(bar + 5), links, nullptr,
                hypothesis_name, n + 1);
    for (const auto& link : links) {
      a_and_s += sure.count(link);
      a_and_p += possible.count(link);
    }
    scores.hypothesis_links += static_cast<int64_t>(links.size());
    scores.sure_links += static_cast<int64_t>(sure.size());
    scores.possible_links += static_cast<int64_t>(possible.size());
  }
  scores.sentences = static_cast<int64_t>(gold.size());
  const double a = static_cast<double>(scores.hypothesis_links), s = static_cast<double>(scores.sure_links);
  scores.aer = a + s > 0 ? 1.0 - static_cast<double>(a_and_s + a_and_p) / (a + s) : 0.0;
  scores.precision = a > 0 ? static_cast<double>(a_and_p) / a : 0.0;
  scores.recall = s > 0 ? static_cast<double>(a_and_s) / s : 0.0;
  return scores;
}

}  // namespace rosetta
