// The `brain` executable: dispatches to a subcommand; the boundary where exceptions become errors.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "core/model/host_allocator.h"
#include "launch/cli/subcommand.h"

namespace brain::cli {
namespace {

void PrintMainHelp(std::FILE* out) {
  std::fprintf(out,
               "brain %s: align language models with reward models (BRAIn, DPO, AVA, SFT, reward models)\n\n"
               "usage: brain SUBCOMMAND [options]      (multi-process: mpirun -np N brain SUBCOMMAND ...)\n\n"
               "subcommands:\n",
               BRAIN_VERSION);
  for (const Subcommand& cmd : AllSubcommands()) {
    std::fprintf(out, "  %-13s %s\n", cmd.name.c_str(), cmd.summary.c_str());
  }
  std::fprintf(out, "\n'brain SUBCOMMAND --help' describes a subcommand and its options.\n");
}

void PrintSubcommandHelp(const Subcommand& cmd) {
  std::printf("brain %s: %s\n\nusage: %s\n\n%s\n", cmd.name.c_str(), cmd.summary.c_str(),
              cmd.usage.c_str(), cmd.description.c_str());
  std::printf("\noptions:\n%s", FormatOptions(cmd.options).c_str());
}

int Main(int argc, char** argv) {
  model::TuneHostAllocator();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    PrintMainHelp(stderr);
    return kExitUsage;
  }
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    PrintMainHelp(stdout);
    return kExitOk;
  }
  if (args[0] == "--version") args[0] = "version";
  for (const Subcommand& cmd : AllSubcommands()) {
    if (cmd.name != args[0]) continue;
    auto parsed = ParseArgs(cmd.options, {args.begin() + 1, args.end()}, cmd.max_positionals);
    if (!parsed.ok()) {
      std::fprintf(stderr, "brain %s: %s\nusage: %s\n", cmd.name.c_str(),
                   std::string(parsed.status().message()).c_str(), cmd.usage.c_str());
      return kExitUsage;
    }
    if (parsed->help()) {
      PrintSubcommandHelp(cmd);
      return kExitOk;
    }
    try {
      return cmd.run(*parsed);
    } catch (const std::exception& e) {  // LibTorch (c10::Error) and std exceptions
      std::fprintf(stderr, "brain %s: error: %s\n", cmd.name.c_str(), e.what());
      return kExitFailure;
    }
  }
  std::fprintf(stderr, "brain: unknown subcommand '%s' (see 'brain --help')\n", args[0].c_str());
  return kExitUsage;
}

}  // namespace
}  // namespace brain::cli

int main(int argc, char** argv) { return brain::cli::Main(argc, argv); }
