// Constructors of the individual subcommands (each defined in its own file).
#pragma once

#include "launch/cli/subcommand.h"

namespace brain::cli {

Subcommand VersionCommand();
Subcommand ConfigCommand();
Subcommand TokenizeCommand();
Subcommand CreateModelCommand();

// The subcommands whose implementation lands with a later issue (they exit kExitNotImplemented).
std::vector<Subcommand> PlannedCommands();

// A subcommand with full help whose run() reports "not implemented yet (tracked in issue ISSUE)".
Subcommand Planned(std::string name, std::string summary, std::string description, std::string usage,
                   std::vector<OptionSpec> options, std::string issue);

}  // namespace brain::cli
