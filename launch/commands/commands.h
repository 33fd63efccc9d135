// Constructors of the individual subcommands (each defined in its own file).
#pragma once

#include "launch/cli/subcommand.h"

namespace brain::cli {

Subcommand VersionCommand();
Subcommand ConfigCommand();
Subcommand TokenizeCommand();
Subcommand CreateModelCommand();
Subcommand SampleCommand();
Subcommand ScoreCommand();
std::vector<Subcommand> TrainingCommands();  // sft, rm, dpo, align, ava
Subcommand DemoCommand();
Subcommand ExportCommand();
Subcommand EvalCommand();

}  // namespace brain::cli
