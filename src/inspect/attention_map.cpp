#include "rosetta/inspect/attention_map.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "rosetta/error.h"
#include "rosetta/json.h"

namespace rosetta {

namespace {

// [1, H, Q, K] of every layer -> [layer][head][query][key].
AttentionMap::Weights nested(const std::vector<Tensor>& layers) {
  AttentionMap::Weights out;
  for (const Tensor& t : layers) {
    const int64_t heads = t.dim(1), queries = t.dim(2), keys = t.dim(3);
    auto& layer = out.emplace_back(heads, std::vector<std::vector<float>>(queries, std::vector<float>(keys)));
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t q = 0; q < queries; ++q)
        std::copy_n(t.data() + (h * queries + q) * keys, keys, layer[h][q].begin());
  }
  return out;
}

std::vector<std::string> pieces(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(tokenizer.piece(id));
  return out;
}

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// White to dark blue; the square root keeps small weights visible.
std::string colour(float weight) {
  const float v = std::sqrt(std::clamp(weight, 0.0f, 1.0f));
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "#%02x%02x%02x", static_cast<int>(255 - 247 * v), static_cast<int>(255 - 207 * v),
                static_cast<int>(255 - 148 * v));
  return buffer;
}

struct Kind {
  std::string name, title;
  const AttentionMap::Weights* weights;
  const std::vector<std::string>* queries;
  const std::vector<std::string>* keys;
};

std::vector<Kind> kinds(const AttentionMap& map) {
  return {{"encoder_self", "encoder self-attention", &map.encoder_self, &map.source, &map.source},
          {"decoder_self", "decoder self-attention", &map.decoder_self, &map.target_out, &map.target_in},
          {"cross", "cross-attention (decoder queries, source keys)", &map.cross, &map.target_out, &map.source}};
}

// One heat map at (x, y), cell pixels a side; labels when there is room.
void heat_map(std::string& svg, const std::vector<std::vector<float>>& weights, const std::vector<std::string>& queries,
              const std::vector<std::string>& keys, double x, double y, double cell, size_t rows, size_t cols,
              bool left_labels, bool top_labels) {
  for (size_t q = 0; q < rows; ++q)
    for (size_t k = 0; k < cols; ++k) {
      char rect[200];
      std::snprintf(rect, sizeof(rect), "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                    x + k * cell, y + q * cell, cell, cell, colour(weights[q][k]).c_str());
      svg += rect;
    }
  char frame[200];
  std::snprintf(frame, sizeof(frame),
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n", x, y,
                cols * cell, rows * cell);
  svg += frame;
  const double font = std::min(14.0, cell * 0.7);
  for (size_t q = 0; q < rows && left_labels; ++q)
    svg += concat("<text x=\"", x - 4, "\" y=\"", y + (q + 0.7) * cell, "\" font-size=\"", font,
                  "\" text-anchor=\"end\">", escape_xml(queries[q]), "</text>\n");
  for (size_t k = 0; k < cols && top_labels; ++k) {
    const double kx = x + (k + 0.7) * cell, ky = y - 4;
    svg += concat("<text x=\"", kx, "\" y=\"", ky, "\" font-size=\"", font, "\" transform=\"rotate(-60 ", kx, " ", ky,
                  ")\">", escape_xml(keys[k]), "</text>\n");
  }
}

}  // namespace

AttentionMap attention_map(const Transformer& model, const Vocabularies& vocabularies,
                           const std::vector<int32_t>& source_ids, const std::vector<int32_t>& target_ids) {
  check(!model.decoder_only(), "attention maps are drawn for translation models only, not yet for language models");
  check(!source_ids.empty() && source_ids.back() == kEosId, "attention: the source must end with EOS");
  std::vector<int32_t> tgt_in{kBosId};
  tgt_in.insert(tgt_in.end(), target_ids.begin(), target_ids.end());
  const AttentionWeights w = model.attention(TokenMatrix::from_rows({source_ids}, kPadId),
                                             TokenMatrix::from_rows({tgt_in}, kPadId),
                                             {.encoder_self = true, .decoder_self = true, .cross = true});
  AttentionMap map;
  map.source = pieces(*vocabularies.source, source_ids);
  map.target_in = pieces(*vocabularies.target, tgt_in);
  std::vector<int32_t> tgt_out = target_ids;
  tgt_out.push_back(kEosId);
  map.target_out = pieces(*vocabularies.target, tgt_out);
  map.encoder_self = nested(w.encoder_self);
  map.decoder_self = nested(w.decoder_self);
  map.cross = nested(w.cross);
  return map;
}

std::string attention_json(const AttentionMap& map) {
  Json out;
  out["tokens"] = {{"source", map.source}, {"target_in", map.target_in}, {"target_out", map.target_out}};
  out["layout"] = "attn[layer][head][query][key]";
  out["encoder_self"] = map.encoder_self;
  out["decoder_self"] = map.decoder_self;
  out["cross"] = map.cross;
  return json_line(out);
}

std::string attention_svg(const AttentionMap& map, const AttentionPicture& picture) {
  const std::vector<Kind> all = kinds(map);
  std::string body, notes;
  double width = 0, height = 0;
  const auto cut = [&](size_t n) { return std::min(n, static_cast<size_t>(picture.max_tokens)); };
  for (const Kind& kind : all)
    if (kind.queries->size() > cut(kind.queries->size()) || kind.keys->size() > cut(kind.keys->size()))
      notes = concat("sentences cut to their first ", picture.max_tokens, " tokens");
  if (picture.layer >= 0) {
    const auto it = std::find_if(all.begin(), all.end(), [&](const Kind& k) { return k.name == picture.kind; });
    check(it != all.end(), "--kind: expected encoder_self, decoder_self or cross, got '", picture.kind, "'");
    const AttentionMap::Weights& w = *it->weights;
    check(picture.layer < static_cast<int64_t>(w.size()), "--layer ", picture.layer, ": the model has ", w.size(),
          " layers of ", it->title);
    check(picture.head >= 0 && picture.head < static_cast<int64_t>(w[picture.layer].size()), "--head ", picture.head,
          ": the model has ", w[picture.layer].size(), " heads");
    const size_t rows = cut(it->queries->size()), cols = cut(it->keys->size());
    const double cell = 24, left = 140, top = 150;
    body += concat("<text x=\"10\" y=\"24\" font-size=\"16\">", escape_xml(it->title), ", layer ", picture.layer,
                   ", head ", picture.head, "</text>\n");
    heat_map(body, w[picture.layer][picture.head], *it->queries, *it->keys, left, top, cell, rows, cols, true, true);
    width = std::max(left + cols * cell + 40, 10 + 9.0 * static_cast<double>(it->title.size() + 24));
    height = top + rows * cell + 40;
  } else {
    // Every kind: a row of heads for each layer; cells shrink for long sentences.
    double y = 30;
    for (const Kind& kind : all) {
      const size_t rows = cut(kind.queries->size()), cols = cut(kind.keys->size());
      const double cell = std::clamp(160.0 / static_cast<double>(std::max(rows, cols)), 3.0, 14.0);
      const bool labels = cell >= 9;
      const double gap = labels ? 90 : 20, left = labels ? 110 : 70;
      body += concat("<text x=\"10\" y=\"", y + 16, "\" font-size=\"16\" font-weight=\"bold\">",
                     escape_xml(kind.title), "</text>\n");
      y += 30 + (labels ? 60 : 14);
      for (size_t l = 0; l < kind.weights->size(); ++l) {
        body += concat("<text x=\"10\" y=\"", y + 12, "\" font-size=\"12\">layer ", l, "</text>\n");
        const auto& heads = (*kind.weights)[l];
        for (size_t h = 0; h < heads.size(); ++h) {
          const double x = left + h * (cols * cell + gap);
          if (l == 0)
            body += concat("<text x=\"", x, "\" y=\"", y - (labels ? 50 : 4), "\" font-size=\"12\">head ", h, "</text>\n");
          // Token labels left of each layer's first map, above the first layer's.
          heat_map(body, heads[h], *kind.queries, *kind.keys, x, y, cell, rows, cols, labels && h == 0,
                   labels && h == 0 && l == 0);
          width = std::max(width, x + cols * cell + 20);
        }
        y += rows * cell + (labels ? 24 : 12);
      }
      y += 20;
    }
    height = y;
  }
  if (!notes.empty()) {
    body += concat("<text x=\"10\" y=\"", height + 10, "\" font-size=\"12\" fill=\"#a00\">", notes, "</text>\n");
    height += 24;
  }
  width = std::max(width, 420.0);
  return concat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", std::ceil(width), "\" height=\"", std::ceil(height),
                "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", body,
                "</svg>\n");
}

}  // namespace rosetta
