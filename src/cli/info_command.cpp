// rosetta info CKPT: what a checkpoint holds.
#include <iostream>

#include "commands.h"
#include "rosetta/data/vocabularies.h"
#include "rosetta/model/checkpoint.h"

namespace rosetta::cli {

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a checkpoint's config, parameter count and step");
  auto path = std::make_shared<std::string>();
  cmd->add_option("checkpoint", *path, "checkpoint file")->required();
  cmd->callback([path] {
    const Checkpoint c = load_checkpoint(*path);
    int64_t parameters = 0, tensors = 0;
    for (const auto& [name, t] : c.tensors) {
      if (name.rfind("param/", 0) == 0) {
        parameters += t.numel();
        ++tensors;
      }
    }
    std::cout << "checkpoint: " << *path << "\n"
              << "format version: " << kCheckpointVersion << "\n"
              << "parameters: " << parameters << " in " << tensors << " tensors\n";
    for (const char* key : {"state/step", "state/epoch"})
      if (c.has_text(key)) std::cout << std::string(key).substr(6) << ": " << c.text(key) << "\n";
    if (!c.has_text("vocab") && !c.has_text("vocab/src")) {
      std::cout << "vocabulary: none\n";
    } else if (const Vocabularies vocabularies = Vocabularies::from_texts(c.texts, *path); vocabularies.joint()) {
      std::cout << "vocabulary: joint, " << vocabularies.source->vocab_size() << " pieces\n";
    } else {
      std::cout << "vocabularies: source " << vocabularies.source->vocab_size() << " pieces, target "
                << vocabularies.target->vocab_size() << " pieces\n";
    }
    if (c.has_text("config")) std::cout << "config:\n" << c.text("config");
  });
}

}  // namespace rosetta::cli
