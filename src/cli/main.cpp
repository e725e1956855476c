// The rosetta command line: parses the subcommand, runs it, and turns any
// rosetta::Error into a logged message and a non-zero exit.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <exception>

#include "rosetta/error.h"

#ifndef ROSETTA_VERSION
#define ROSETTA_VERSION "dev"
#endif

int main(int argc, char** argv) {
  CLI::App app{"Rosetta: a Transformer machine-translation trainer for the CPU"};
  app.set_version_flag("--version", std::string("rosetta ") + ROSETTA_VERSION);
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (app.get_subcommands().empty()) {
      std::cout << app.help();
      return 0;
    }
  } catch (const rosetta::Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("unexpected failure: {}", e.what());
    return 2;
  }
  return 0;
}
