// The rosetta command line: parses the subcommand, runs it, and turns any
// rosetta::Error into a logged message and a non-zero exit. Under mpirun,
// rank 0 logs as usual and the others only warnings and errors, each line
// tagged with its rank; an error on any rank ends every process of the run.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>

#include "commands.h"
#include "openmp_waiting.h"
#include "rosetta/dist/process_group.h"
#include "rosetta/error.h"

#ifndef ROSETTA_VERSION
#define ROSETTA_VERSION "dev"
#endif

int main(int argc, char** argv) {
  rosetta::cli::start_with_bounded_openmp_spinning(argv);
  CLI::App app{"Rosetta: a Transformer machine-translation trainer for the CPU"};
  app.set_version_flag("--version", std::string("rosetta ") + ROSETTA_VERSION);
  app.require_subcommand(1);
  rosetta::cli::add_train_command(app);
  rosetta::cli::add_translate_command(app);
  rosetta::cli::add_bleu_command(app);
  rosetta::cli::add_average_command(app);
  rosetta::cli::add_align_command(app);
  rosetta::cli::add_attention_command(app);
  rosetta::cli::add_heads_command(app);
  rosetta::cli::add_generate_command(app);
  rosetta::cli::add_score_command(app);
  rosetta::cli::add_fill_command(app);
  rosetta::cli::add_align_eval_command(app);
  rosetta::cli::add_info_command(app);
  rosetta::cli::add_config_command(app);
  // Logs go to standard error: standard output carries translations and scores.
  spdlog::set_default_logger(spdlog::stderr_color_mt("rosetta"));
  rosetta::dist::ProcessGroup& group = rosetta::dist::world();
  if (group.distributed()) {
    spdlog::set_pattern(fmt::format("[%Y-%m-%d %H:%M:%S] [%^%l%$] [rank {}/{}] %v", group.rank(), group.size()));
    if (!group.is_root()) spdlog::set_level(spdlog::level::warn);
  } else {
    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S] [%^%l%$] %v");
  }
  int exit_code = 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
  } catch (const rosetta::Error& e) {
    spdlog::error("{}", e.what());
    exit_code = 1;
  } catch (const std::exception& e) {
    spdlog::error("unexpected failure: {}", e.what());
    exit_code = 2;
  }
  if (exit_code != 0 && group.distributed()) {
    spdlog::default_logger()->flush();
    group.abort(exit_code);  // the other processes may wait in a collective
  }
  group.finalize();
  return exit_code;
}
