#include "rosetta/eval/bleu.h"

#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "rosetta/error.h"
#include "unicode_text.h"

namespace rosetta {

namespace {

constexpr int kOrder = 4;
constexpr const char* kVersion = "2.6.0";

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

std::string join_tokens(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// mteval-v13a: the regexes of sacreBLEU's TokenizerRegexp, applied one after
// another with Python's left-to-right, non-overlapping substitution. They
// only look at ASCII, so bytes stand in for characters.
std::string tokenize_13a(std::string line) {
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  line = " " + line + " ";
  std::string a;  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
  for (char c : line) {
    const unsigned char u = static_cast<unsigned char>(c);
    const bool split = (u >= '{' && u <= '~') || (u >= '[' && u <= '`') || (u >= ' ' && u <= '&') ||
                       (u >= '(' && u <= '+') || (u >= ':' && u <= '@') || u == '/';
    if (split) {
      a += ' ';
      a += c;
      a += ' ';
    } else {
      a += c;
    }
  }
  auto pass = [](const std::string& s, auto first, auto second, auto emit) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      if (i + 1 < s.size() && first(s[i]) && second(s[i + 1])) {
        emit(out, s[i], s[i + 1]);
        i += 2;
      } else {
        out += s[i++];
      }
    }
    return out;
  };
  auto period_comma = [](char c) { return c == '.' || c == ','; };
  auto non_digit = [](char c) { return !is_digit(c); };
  // ([^0-9])([\.,]) -> "\1 \2 "
  a = pass(a, non_digit, period_comma, [](std::string& o, char x, char y) { o += x, o += ' ', o += y, o += ' '; });
  // ([\.,])([^0-9]) -> " \1 \2"
  a = pass(a, period_comma, non_digit, [](std::string& o, char x, char y) { o += ' ', o += x, o += ' ', o += y; });
  // ([0-9])(-) -> "\1 \2 "
  a = pass(a, is_digit, [](char c) { return c == '-'; },
           [](std::string& o, char x, char y) { o += x, o += ' ', o += y, o += ' '; });
  return join_tokens(unicode::split(a));
}

// mteval-v14 international: punctuation split from non-digits, symbols
// split everywhere, by Unicode category.
std::string tokenize_intl(const std::string& line) {
  using Points = std::vector<int32_t>;
  auto pass = [](const Points& s, auto first, auto second, bool space_before) {
    Points out;
    size_t i = 0;
    while (i < s.size()) {
      if (i + 1 < s.size() && first(s[i]) && second(s[i + 1])) {
        if (space_before) {  // " \1 \2"
          out.insert(out.end(), {' ', s[i], ' ', s[i + 1]});
        } else {  // "\1 \2 "
          out.insert(out.end(), {s[i], ' ', s[i + 1], ' '});
        }
        i += 2;
      } else {
        out.push_back(s[i++]);
      }
    }
    return out;
  };
  auto not_number = [](int32_t c) { return !unicode::is_number(c); };
  Points s = unicode::code_points(line);
  s = pass(s, not_number, unicode::is_punctuation, false);
  s = pass(s, unicode::is_punctuation, not_number, true);
  Points out;
  for (int32_t c : s) {
    if (unicode::is_symbol(c)) out.insert(out.end(), {' ', c, ' '});
    else out.push_back(c);
  }
  return join_tokens(unicode::split(unicode::to_utf8(out)));
}

std::string tokenize_char(const std::string& line) {
  std::string out;
  for (int32_t c : unicode::code_points(line)) {
    if (!out.empty()) out += ' ';
    unicode::append_utf8(out, c);
  }
  return out;
}

std::string preprocess(const std::string& line, const BleuOptions& o) {
  return bleu_tokenize(unicode::rstrip(o.lowercase ? unicode::lower(line) : line), o.tokenize);
}

using NgramCounts = std::unordered_map<std::string, int64_t>;

// All 1..4-grams of the whitespace-split line; returns the token count.
int64_t word_ngrams(const std::string& line, NgramCounts& counts) {
  const auto tokens = unicode::split(line);
  for (int n = 1; n <= kOrder; ++n) {
    for (size_t i = 0; i + n <= tokens.size(); ++i) {
      std::string key = tokens[i];
      for (int k = 1; k < n; ++k) key += ' ' + tokens[i + k];
      ++counts[key];
    }
  }
  return static_cast<int64_t>(tokens.size());
}

int ngram_order(const std::string& key) {
  int n = 1;
  for (char c : key) n += c == ' ';
  return n;
}

struct Stats {
  int64_t sys_len = 0, ref_len = 0;
  std::array<int64_t, 4> correct{}, total{};
};

void add_segment(Stats& stats, const std::string& hypothesis, const std::vector<std::string>& refs,
                 const BleuOptions& o) {
  NgramCounts ref_max;
  std::vector<int64_t> ref_lens;
  for (const auto& ref : refs) {
    NgramCounts counts;
    ref_lens.push_back(word_ngrams(preprocess(ref, o), counts));
    for (const auto& [ngram, count] : counts) ref_max[ngram] = std::max(ref_max[ngram], count);
  }
  NgramCounts hyp;
  const int64_t hyp_len = word_ngrams(preprocess(hypothesis, o), hyp);
  int64_t closest_diff = -1, closest_len = -1;
  for (int64_t len : ref_lens) {
    const int64_t diff = std::abs(hyp_len - len);
    if (closest_diff == -1 || diff < closest_diff) {
      closest_diff = diff;
      closest_len = len;
    } else if (diff == closest_diff && len < closest_len) {
      closest_len = len;
    }
  }
  stats.sys_len += hyp_len;
  stats.ref_len += closest_len;
  for (const auto& [ngram, count] : hyp) {
    const int n = ngram_order(ngram) - 1;
    stats.total[n] += count;
    auto it = ref_max.find(ngram);
    if (it != ref_max.end()) stats.correct[n] += std::min(count, it->second);
  }
}

BleuResult compute(const Stats& s, bool effective_order, const BleuOptions& o, size_t nrefs) {
  BleuResult r;
  r.counts = s.correct;
  r.totals = s.total;
  r.sys_len = s.sys_len;
  r.ref_len = s.ref_len;
  r.bp = s.sys_len < s.ref_len ? (s.sys_len > 0 ? std::exp(1.0 - static_cast<double>(s.ref_len) / s.sys_len) : 0.0) : 1.0;
  static const char* names[] = {"13a", "intl", "none", "char"};
  r.signature = concat("nrefs:", nrefs, "|case:", o.lowercase ? "lc" : "mixed", "|eff:", effective_order ? "yes" : "no",
                       "|tok:", names[static_cast<int>(o.tokenize)], "|smooth:exp|version:", kVersion);
  bool any = false;
  for (int64_t c : s.correct) any |= c > 0;
  if (!any) return r;  // sacreBLEU stops early: no match, score 0
  double smooth = 1.0;
  int order = kOrder;
  for (int n = 0; n < kOrder; ++n) {
    if (s.total[n] == 0) break;
    if (effective_order) order = n + 1;
    if (s.correct[n] == 0) {
      smooth *= 2;
      r.precisions[n] = 100.0 / (smooth * static_cast<double>(s.total[n]));
    } else {
      r.precisions[n] = 100.0 * static_cast<double>(s.correct[n]) / static_cast<double>(s.total[n]);
    }
  }
  double log_sum = 0;
  for (int n = 0; n < order; ++n) log_sum += r.precisions[n] == 0 ? -9999999999.0 : std::log(r.precisions[n]);
  r.score = r.bp * std::exp(log_sum / order);
  return r;
}

void check_streams(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references) {
  check(!references.empty(), "scoring needs at least one reference stream");
  for (size_t r = 0; r < references.size(); ++r)
    check(references[r].size() == hypotheses.size(), "the hypotheses have ", hypotheses.size(),
          " lines but reference ", r + 1, " has ", references[r].size());
}

}  // namespace

BleuTokenizer parse_bleu_tokenizer(const std::string& name) {
  if (name == "13a") return BleuTokenizer::t13a;
  if (name == "intl") return BleuTokenizer::intl;
  if (name == "none") return BleuTokenizer::none;
  if (name == "char") return BleuTokenizer::character;
  throw Error(concat("unknown BLEU tokenizer '", name, "' (13a, intl, none or char)"));
}

std::string bleu_tokenize(const std::string& line, BleuTokenizer tokenizer) {
  switch (tokenizer) {
    case BleuTokenizer::t13a: return tokenize_13a(line);
    case BleuTokenizer::intl: return tokenize_intl(line);
    case BleuTokenizer::character: return tokenize_char(line);
    case BleuTokenizer::none: return line;
  }
  return line;
}

BleuResult corpus_bleu(const std::vector<std::string>& hypotheses,
                       const std::vector<std::vector<std::string>>& references, const BleuOptions& options) {
  check_streams(hypotheses, references);
  Stats stats;
  std::vector<std::string> refs(references.size());
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    for (size_t r = 0; r < references.size(); ++r) refs[r] = references[r][i];
    add_segment(stats, hypotheses[i], refs, options);
  }
  return compute(stats, false, options, references.size());
}

BleuResult sentence_bleu(const std::string& hypothesis, const std::vector<std::string>& references,
                         const BleuOptions& options) {
  check(!references.empty(), "sentence BLEU needs at least one reference");
  Stats stats;
  add_segment(stats, hypothesis, references, options);
  return compute(stats, true, options, references.size());
}

std::string BleuResult::format() const {
  char buffer[512];
  const double ratio = ref_len > 0 ? static_cast<double>(sys_len) / static_cast<double>(ref_len) : 0.0;
  std::snprintf(buffer, sizeof(buffer), "BLEU|%s = %.1f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = %lld)",
                signature.c_str(), score, precisions[0], precisions[1], precisions[2], precisions[3], bp, ratio,
                static_cast<long long>(sys_len), static_cast<long long>(ref_len));
  return buffer;
}

// ---- chrF -------------------------------------------------------------------

namespace {

constexpr int kCharOrder = 6;
constexpr double kBeta = 2.0;

using CharNgrams = std::array<std::unordered_map<std::string, int64_t>, kCharOrder>;

CharNgrams char_ngrams(const std::string& line) {
  // Whitespace removed, then n-grams of code points.
  std::vector<int32_t> points;
  for (const auto& token : unicode::split(line)) {
    const auto p = unicode::code_points(token);
    points.insert(points.end(), p.begin(), p.end());
  }
  CharNgrams out;
  for (int n = 1; n <= kCharOrder; ++n)
    for (size_t i = 0; i + n <= points.size(); ++i)
      ++out[n - 1][unicode::to_utf8({points.begin() + i, points.begin() + i + n})];
  return out;
}

double f_score(const std::array<int64_t, 3 * kCharOrder>& stats) {
  const double factor = kBeta * kBeta;
  double avg_prec = 0, avg_rec = 0;
  int effective = 0;
  for (int i = 0; i < kCharOrder; ++i) {
    const int64_t hyp = stats[3 * i], ref = stats[3 * i + 1], match = stats[3 * i + 2];
    if (hyp > 0 && ref > 0) {
      avg_prec += static_cast<double>(match) / static_cast<double>(hyp);
      avg_rec += static_cast<double>(match) / static_cast<double>(ref);
      ++effective;
    }
  }
  if (effective == 0) return 0.0;
  avg_prec /= effective;
  avg_rec /= effective;
  if (avg_prec + avg_rec == 0) return 0.0;
  return 100.0 * (1 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec);
}

}  // namespace

ChrfResult corpus_chrf(const std::vector<std::string>& hypotheses,
                       const std::vector<std::vector<std::string>>& references, bool lowercase) {
  check_streams(hypotheses, references);
  std::array<int64_t, 3 * kCharOrder> total{};
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const CharNgrams hyp = char_ngrams(lowercase ? unicode::lower(hypotheses[i]) : hypotheses[i]);
    std::array<int64_t, 3 * kCharOrder> best{};
    double best_f = -1.0;
    for (const auto& stream : references) {
      const CharNgrams ref = char_ngrams(lowercase ? unicode::lower(stream[i]) : stream[i]);
      std::array<int64_t, 3 * kCharOrder> stats{};
      for (int n = 0; n < kCharOrder; ++n) {
        int64_t hyp_count = 0, ref_count = 0, match = 0;
        for (const auto& [gram, count] : hyp[n]) {
          hyp_count += count;
          auto it = ref[n].find(gram);
          if (it != ref[n].end()) match += std::min(count, it->second);
        }
        for (const auto& [gram, count] : ref[n]) ref_count += count;
        stats[3 * n] = ref[n].empty() ? 0 : hyp_count;  // no hits counted without a reference n-gram
        stats[3 * n + 1] = ref_count;
        stats[3 * n + 2] = match;
      }
      const double f = f_score(stats);
      if (f > best_f) {
        best_f = f;
        best = stats;
      }
    }
    for (size_t k = 0; k < total.size(); ++k) total[k] += best[k];
  }
  ChrfResult r;
  r.score = f_score(total);
  r.signature = concat("nrefs:", references.size(), "|case:", lowercase ? "lc" : "mixed",
                       "|eff:yes|nc:6|nw:0|space:no|version:", kVersion);
  return r;
}

std::string ChrfResult::format() const {
  char buffer[256];
  std::snprintf(buffer, sizeof(buffer), "chrF2|%s = %.1f", signature.c_str(), score);
  return buffer;
}

}  // namespace rosetta
