// `brain config`: load, override, validate and print the resolved experiment config.
#include <cstdio>

#include "core/config/config_loader.h"
#include "core/config/config_resolve.h"
#include "launch/commands/commands.h"

namespace brain::cli {

Subcommand ConfigCommand() {
  Subcommand cmd;
  cmd.name = "config";
  cmd.summary = "validate a config and print it resolved (every default written out)";
  cmd.description =
      "Loads a text-format ExperimentConfig (proto/config.proto), applies --set overrides in order,\n"
      "validates it, and prints the resolved config. Errors name file:line:column (or the --set\n"
      "override) and the field path, and exit with status 1.";
  cmd.usage = "brain config --config FILE [--set path.to.field=value]...";
  cmd.options = ConfigOptions();
  cmd.run = [](const ParsedArgs& args) {
    auto config = config::LoadConfigFile(args.Get("config"), args.GetAll("set"));
    if (!config.ok()) {
      std::fprintf(stderr, "brain config: invalid config\n%s\n",
                   std::string(config.status().message()).c_str());
      return kExitFailure;
    }
    std::fputs(config::ResolvedConfigText(*config).c_str(), stdout);
    return kExitOk;
  };
  return cmd;
}

}  // namespace brain::cli
