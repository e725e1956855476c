#include "rosetta/decode/model_loader.h"

#include "rosetta/error.h"
#include "rosetta/model/checkpoint.h"

namespace rosetta {

LoadedModel load_model(const std::string& path, bool prefer_averaged) {
  const Checkpoint c = load_checkpoint(path);
  check(c.has_text("config") && c.has_text("vocab"), path, " lacks its config or vocabulary");
  LoadedModel loaded;
  loaded.config = parse_config(c.text("config"), path + " (embedded config)");
  loaded.tokenizer = Tokenizer::from_bytes(c.text("vocab"), path + " (embedded vocabulary)");
  check(loaded.tokenizer.vocab_size() == loaded.config.model.vocab_size, path, ": the vocabulary has ",
        loaded.tokenizer.vocab_size(), " pieces but the model was built for ", loaded.config.model.vocab_size);
  Rng unused(0);
  loaded.model = std::make_unique<Transformer>(loaded.config.model, unused);
  loaded.averaged_weights = prefer_averaged && c.find_tensor("ema/" + loaded.model->named_parameters().front().first);
  restore_parameters(c, *loaded.model, loaded.averaged_weights ? "ema/" : "param/");
  return loaded;
}

}  // namespace rosetta
