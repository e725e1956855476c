// The rosetta command line: parses the subcommand, runs it, and turns any
// rosetta::Error into a logged message and a non-zero exit.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>

#include "commands.h"
#include "rosetta/error.h"

#ifndef ROSETTA_VERSION
#define ROSETTA_VERSION "dev"
#endif

int main(int argc, char** argv) {
  CLI::App app{"Rosetta: a Transformer machine-translation trainer for the CPU"};
  app.set_version_flag("--version", std::string("rosetta ") + ROSETTA_VERSION);
  app.require_subcommand(1);
  rosetta::cli::add_train_command(app);
  rosetta::cli::add_translate_command(app);
  rosetta::cli::add_bleu_command(app);
  rosetta::cli::add_average_command(app);
  rosetta::cli::add_info_command(app);
  rosetta::cli::add_config_command(app);
  // Logs go to standard error: standard output carries translations and scores.
  spdlog::set_default_logger(spdlog::stderr_color_mt("rosetta"));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S] [%^%l%$] %v");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const rosetta::Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("unexpected failure: {}", e.what());
    return 2;
  }
  return 0;
}
