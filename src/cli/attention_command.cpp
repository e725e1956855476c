// rosetta attention --model CKPT --src TEXT [--tgt TEXT] --out FILE.svg|html|json
//   [--kind encoder_self|decoder_self|cross --layer L --head H]
// Every attention weight of one sentence pair: without --tgt the model
// translates the source first (beam search), with it the given pair is
// scored (forced decoding).
#include <spdlog/spdlog.h>

#include "commands.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/decode/translator.h"
#include "rosetta/error.h"
#include "rosetta/inspect/attention_map.h"
#include "rosetta/inspect/attention_page.h"
#include "rosetta/io/atomic_file.h"

namespace rosetta::cli {

void add_attention_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("attention", "Draw (SVG, HTML) or dump (JSON) every attention weight of one sentence pair");
  struct Options {
    std::string model, src, tgt, out, kind = "cross";
    int64_t layer = -1, head = -1, max_tokens = 100;
    bool has_tgt = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-m,--model", o->model, "checkpoint file")->required();
  cmd->add_option("--src", o->src, "the source sentence")->required();
  auto* tgt = cmd->add_option("--tgt", o->tgt, "its translation (default: the model's own, beam search)");
  cmd->add_option("--out", o->out, "FILE.svg (a picture), FILE.html (a page to explore, self-contained) or FILE.json "
                  "(weights as attn[layer][head][query][key])")
      ->required();
  cmd->add_option("--kind", o->kind, "with --layer and --head: encoder_self, decoder_self or cross");
  cmd->add_option("--layer", o->layer, "one large map of this layer (from 0) instead of the grid");
  cmd->add_option("--head", o->head, "its head (from 0)");
  cmd->add_option("--max-tokens", o->max_tokens, "pictures cut longer sentences, and say so");
  cmd->callback([o, tgt] {
    const auto ends_with = [&](const std::string& suffix) {
      return o->out.size() > suffix.size() && o->out.compare(o->out.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    const bool svg = ends_with(".svg"), html = ends_with(".html"), json = ends_with(".json");
    check(svg || html || json, "--out ", o->out, ": expected a name ending in .svg, .html or .json");
    check((o->layer < 0) == (o->head < 0), "--layer and --head go together");
    const LoadedModel loaded = load_model(o->model);
    std::vector<int32_t> source = loaded.vocabularies.source->encode(o->src);
    check(!source.empty(), "--src: the sentence is empty");
    const int64_t max_len = loaded.config.data.max_len;  // with EOS, as translate cuts
    if (static_cast<int64_t>(source.size()) + 1 > max_len) {
      spdlog::warn("--src has {} tokens; cut to {}", source.size() + 1, max_len);
      source.resize(max_len - 1);
    }
    source.push_back(kEosId);
    std::vector<int32_t> target;
    if (*tgt) {
      target = loaded.vocabularies.target->encode(o->tgt);
      const int64_t positions = loaded.model->config().max_positions;  // with BOS
      if (static_cast<int64_t>(target.size()) + 1 > positions) {
        spdlog::warn("--tgt has {} tokens; cut to {}", target.size() + 1, positions);
        target.resize(positions - 1);
      }
    } else {
      const DecodeConfig& d = loaded.config.decode;
      const Translator translator(*loaded.model, loaded.vocabularies,
                                  {.beam_size = d.beam_size, .length_penalty = d.length_penalty,
                                   .max_length_a = d.max_length_a, .max_length_b = d.max_length_b},
                                  1, loaded.config.data.max_len);
      const Translation best = translator.translate({o->src}).front();
      spdlog::info("translation: {}", best.texts.front());
      target = best.best_pieces;  // the pieces the search produced, not the text encoded again
    }
    const AttentionMap map = attention_map(*loaded.model, loaded.vocabularies, source, target);
    write_file_atomically(o->out, json   ? attention_json(map) + "\n"
                                  : html ? attention_html(map)
                                         : attention_svg(map, {o->kind, o->layer, o->head, o->max_tokens}));
    spdlog::info("wrote {}", o->out);
  });
}

}  // namespace rosetta::cli
