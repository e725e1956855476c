#include "rosetta/decode/alignment.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <utility>

#include "rosetta/error.h"

namespace rosetta {

namespace {

// Word index of each piece (pieces before the first word start join word 0).
std::vector<size_t> word_of(const std::vector<bool>& word_start, bool word_level) {
  std::vector<size_t> words(word_start.size());
  size_t word = 0;
  for (size_t i = 0; i < word_start.size(); ++i) {
    if (word_level && i > 0 && word_start[i]) ++word;
    words[i] = word_level ? word : i;
  }
  return words;
}

std::string number(float x) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%.3f", x);
  return buffer;
}

}  // namespace

AlignmentOptions parse_alignment_kind(const std::string& text) {
  AlignmentOptions options;
  if (text == "hard") return options;
  if (text == "soft") {
    options.kind = AlignmentKind::soft;
    return options;
  }
  size_t used = 0;
  float threshold = -1;
  try {
    threshold = std::stof(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  check(used == text.size() && threshold > 0 && threshold < 1, "--alignment: expected hard, soft or a threshold in "
        "(0, 1), got '", text, "'");
  options.kind = AlignmentKind::threshold;
  options.threshold = threshold;
  return options;
}

std::vector<int64_t> parse_alignment_heads(const std::string& text) {
  if (text == "all" || text.empty()) return {};
  std::vector<int64_t> heads;
  std::istringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    size_t used = 0;
    int64_t head = -1;
    try {
      head = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check(used == part.size() && head >= 0, "--alignment-heads: expected 'all' or head numbers from 0 such as 0,2, "
          "got '", text, "'");
    heads.push_back(head);
  }
  return heads;
}

std::string format_alignment(const std::vector<std::vector<float>>& weights, const std::vector<bool>& src_word_start,
                             const std::vector<bool>& tgt_word_start, const AlignmentOptions& options) {
  check(weights.size() == tgt_word_start.size(), "alignment: ", weights.size(), " rows for ", tgt_word_start.size(),
        " target pieces");
  const std::vector<size_t> src_word = word_of(src_word_start, options.word_level);
  const std::vector<size_t> tgt_word = word_of(tgt_word_start, options.word_level);
  const size_t src_words = src_word.empty() ? 0 : src_word.back() + 1;
  if (options.kind == AlignmentKind::soft) {
    const size_t tgt_words = tgt_word.empty() ? 0 : tgt_word.back() + 1;
    std::vector<std::vector<float>> rows(tgt_words, std::vector<float>(src_words, 0.0f));
    std::vector<int> pieces(tgt_words, 0);
    for (size_t t = 0; t < weights.size(); ++t) {
      check(weights[t].size() == src_word.size(), "alignment: a row of ", weights[t].size(), " weights for ",
            src_word.size(), " source pieces");
      for (size_t s = 0; s < weights[t].size(); ++s) rows[tgt_word[t]][src_word[s]] += weights[t][s];
      ++pieces[tgt_word[t]];
    }
    std::string out;
    for (size_t w = 0; w < tgt_words; ++w) {
      if (w) out += ' ';
      for (size_t s = 0; s < src_words; ++s) {
        if (s) out += ',';
        out += number(rows[w][s] / static_cast<float>(pieces[w]));
      }
    }
    return out;
  }
  std::set<std::pair<size_t, size_t>> links;  // (source, target), sorted as Pharaoh lists them
  for (size_t t = 0; t < weights.size(); ++t) {
    check(weights[t].size() == src_word.size(), "alignment: a row of ", weights[t].size(), " weights for ",
          src_word.size(), " source pieces");
    if (weights[t].empty()) continue;
    if (options.kind == AlignmentKind::hard) {
      const size_t best = static_cast<size_t>(std::max_element(weights[t].begin(), weights[t].end()) - weights[t].begin());
      links.emplace(src_word[best], tgt_word[t]);
    } else {
      for (size_t s = 0; s < weights[t].size(); ++s)
        if (weights[t][s] > options.threshold) links.emplace(src_word[s], tgt_word[t]);
    }
  }
  std::string out;
  for (const auto& [s, t] : links) out += concat(out.empty() ? "" : " ", s, "-", t);
  return out;
}

}  // namespace rosetta
