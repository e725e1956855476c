// One function per subcommand: each adds its options and callback to the app.
// The callbacks throw rosetta::Error; main() turns that into a message and
// a non-zero exit.
#pragma once

#include <CLI/CLI.hpp>

namespace rosetta::cli {

void add_train_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_translate_command(CLI::App& app);
void add_bleu_command(CLI::App& app);
void add_average_command(CLI::App& app);
void add_align_eval_command(CLI::App& app);
void add_align_command(CLI::App& app);
void add_attention_command(CLI::App& app);
void add_heads_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_score_command(CLI::App& app);
void add_fill_command(CLI::App& app);

}  // namespace rosetta::cli
