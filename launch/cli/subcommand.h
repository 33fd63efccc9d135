// Subcommand: one verb of the `brain` executable (name, help, options, entry point).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "launch/cli/arg_parser.h"

namespace brain::cli {

// Exit codes shared by all subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;          // the work failed (bad input, I/O, runtime error)
inline constexpr int kExitUsage = 2;            // bad command line
// 75 (train::kExitPreempted): a training run checkpointed on request (SIGUSR1/SIGTERM); rerun to resume.

struct Subcommand {
  std::string name;
  std::string summary;      // one line, for `brain --help`
  std::string description;  // paragraphs, for `brain NAME --help`
  std::string usage;        // "brain config --config FILE [--set k=v]..."
  std::vector<OptionSpec> options;
  int max_positionals = 0;
  std::function<int(const ParsedArgs&)> run;
};

// All subcommands in the order `brain --help` lists them.
const std::vector<Subcommand>& AllSubcommands();

// Options every config-driven subcommand takes: --config FILE and --set path=value.
std::vector<OptionSpec> ConfigOptions();

}  // namespace brain::cli
