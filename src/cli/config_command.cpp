// rosetta config: the resolved config of a file, or every default.
#include <iostream>

#include "commands.h"
#include "rosetta/config/config.h"

namespace rosetta::cli {

void add_config_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("config", "Print a resolved config, or every key with its default");
  struct Options {
    std::string path;
    std::vector<std::string> overrides;
    bool defaults = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-c,--config", o->path, "YAML config file");
  cmd->add_option("--set", o->overrides, "override a key: section.key=value")->take_all();
  cmd->add_flag("--defaults", o->defaults, "list every key with its default and meaning");
  cmd->callback([o] {
    if (o->defaults || o->path.empty()) {
      std::cout << describe_defaults();
      return;
    }
    std::cout << to_yaml(load_config(o->path, o->overrides));
  });
}

}  // namespace rosetta::cli
