#include "rosetta/inspect/head_statistics.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "rosetta/error.h"
#include "rosetta/json.h"

namespace rosetta {

namespace {

struct KindOf {
  const char* name;
  const AttentionMap::Weights* weights;
  bool self;           // queries and keys are positions of one sequence
  bool boundary_first; // the boundary key is the first (<s>), else the last (</s>)
};

std::vector<KindOf> kinds_of(const AttentionMap& map) {
  return {{"encoder_self", &map.encoder_self, true, false},
          {"decoder_self", &map.decoder_self, true, true},
          {"cross", &map.cross, false, false}};
}

double nan() { return std::numeric_limits<double>::quiet_NaN(); }

}  // namespace

void HeadStatisticsSum::add(const AttentionMap& map) {
  size_t i = 0;
  const bool first = sums_.empty();
  for (const KindOf& kind : kinds_of(map))
    for (size_t l = 0; l < kind.weights->size(); ++l)
      for (size_t h = 0; h < (*kind.weights)[l].size(); ++h, ++i) {
        if (first) sums_.push_back({.kind = kind.name, .layer = static_cast<int64_t>(l), .head = static_cast<int64_t>(h)});
        check(i < sums_.size() && sums_[i].kind == kind.name && sums_[i].layer == static_cast<int64_t>(l) &&
                  sums_[i].head == static_cast<int64_t>(h),
              "head statistics: attention maps of different models");
        HeadStatistics& s = sums_[i];
        const auto& rows = (*kind.weights)[l][h];
        for (size_t q = 0; q < rows.size(); ++q) {
          const std::vector<float>& w = rows[q];
          check(!w.empty(), "head statistics: a query with no keys");
          size_t top = 0;
          double entropy = 0;
          for (size_t k = 0; k < w.size(); ++k) {
            if (w[k] > w[top]) top = k;
            if (w[k] > 0) entropy -= w[k] * std::log2(static_cast<double>(w[k]));
          }
          s.queries += 1;
          s.confidence += w[top];
          s.entropy_bits += entropy;
          s.boundary += kind.boundary_first ? w.front() : w.back();
          if (kind.self) {
            s.previous += top + 1 == q;
            s.same += top == q;
            s.next += top == q + 1;
          }
        }
      }
  check(i == sums_.size(), "head statistics: attention maps of different models");
}

std::vector<HeadStatistics> HeadStatisticsSum::means() const {
  std::vector<HeadStatistics> out = sums_;
  for (HeadStatistics& s : out) {
    const double n = static_cast<double>(std::max<int64_t>(s.queries, 1));
    for (double* v : {&s.confidence, &s.entropy_bits, &s.boundary, &s.previous, &s.same, &s.next}) *v /= n;
    if (s.kind == "cross") s.previous = s.same = nan();
    if (s.kind != "encoder_self") s.next = nan();  // the decoder never sees the next token
  }
  return out;
}

std::string head_table(const HeadReport& report) {
  const bool ablated = report.bleu >= 0;
  std::string out = fmt::format("{:<13} {:>5} {:>4} {:>10} {:>8} {:>8} {:>8} {:>6} {:>6}", "kind", "layer", "head",
                                "confidence", "entropy", "boundary", "previous", "same", "next");
  if (ablated) out += fmt::format(" {:>9}", "BLEU lost");
  out += "\n";
  const auto share = [](double v) { return std::isnan(v) ? std::string("-") : fmt::format("{:.2f}", v); };
  for (size_t i = 0; i < report.heads.size(); ++i) {
    const HeadStatistics& s = report.heads[i];
    out += fmt::format("{:<13} {:>5} {:>4} {:>10.2f} {:>8.2f} {:>8.2f} {:>8} {:>6} {:>6}", s.kind, s.layer, s.head,
                       s.confidence, s.entropy_bits, s.boundary, share(s.previous), share(s.same), share(s.next));
    if (ablated) out += fmt::format(" {:>9.2f}", report.bleu - report.ablated.at(i));
    out += "\n";
  }
  out += fmt::format(
      "\nover {} sentence pairs; confidence: mean largest weight; entropy: mean, in bits; boundary: mean weight "
      "on </s> of the source (<s> for decoder self-attention); previous / same / next: share of queries whose largest "
      "weight is on the token before, itself, after",
      report.sentences);
  if (ablated) out += fmt::format("; BLEU lost: {:.2f} (the full model) minus BLEU with the head masked", report.bleu);
  return out + "\n";
}

std::string head_json_lines(const HeadReport& report) {
  std::string out;
  for (size_t i = 0; i < report.heads.size(); ++i) {
    const HeadStatistics& s = report.heads[i];
    Json line = {{"kind", s.kind},
                           {"layer", s.layer},
                           {"head", s.head},
                           {"queries", s.queries},
                           {"confidence", s.confidence},
                           {"entropy_bits", s.entropy_bits},
                           {"boundary", s.boundary},
                           {"previous", s.previous},  // NaN (not measured) becomes null
                           {"same", s.same},
                           {"next", s.next}};
    if (report.bleu >= 0) {
      line["bleu"] = report.bleu;
      line["bleu_ablated"] = report.ablated.at(i);
      line["bleu_lost"] = report.bleu - report.ablated.at(i);
    }
    out += json_line(line) + "\n";
  }
  return out;
}

}  // namespace rosetta
