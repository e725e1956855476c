#include "rosetta/decode/model_loader.h"

#include "rosetta/error.h"
#include "rosetta/model/checkpoint.h"
#include "rosetta/nn/init.h"

namespace rosetta {

LoadedModel load_model(const std::string& path, bool prefer_averaged) {
  const Checkpoint c = load_checkpoint(path, [](const std::string& name) {
    return name.starts_with("param/") || name.starts_with("ema/");  // not the optimizer's moments
  });
  check(c.has_text("config"), path, " lacks its config");
  LoadedModel loaded;
  loaded.config = parse_config(c.text("config"), path + " (embedded config)");
  loaded.vocabularies = Vocabularies::from_texts(c.texts, path);
  // The vocabularies give the table sizes (a loaded SentencePiece model may
  // differ from vocab.size); a parameter of another shape is reported below.
  loaded.config.model.src_vocab_size = loaded.vocabularies.source->vocab_size();
  loaded.config.model.vocab_size = loaded.vocabularies.target->vocab_size();
  Rng unused(0);
  {
    const nn::init::SkipDrawingScope skip;  // every parameter is restored below
    loaded.model = std::make_unique<Transformer>(loaded.config.model, unused);
  }
  loaded.averaged_weights = prefer_averaged && c.find_tensor("ema/" + loaded.model->named_parameters().front().first);
  restore_parameters(c, *loaded.model, loaded.averaged_weights ? "ema/" : "param/");
  return loaded;
}

}  // namespace rosetta
