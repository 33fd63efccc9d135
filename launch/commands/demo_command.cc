// `brain demo`: the built-in synthetic task end to end (SFT, reward model, DPO and BRAIn, results table).
#include <mpi.h>

#include <cstdio>
#include <exception>

#include "core/demo/demo_run.h"
#include "core/train/preemption.h"
#include "launch/commands/command_runtime.h"
#include "launch/commands/commands.h"

namespace brain::cli {
namespace {

int Run(const ParsedArgs& args) {
  demo::DemoOptions options;
  options.out_dir = args.Get("out", options.out_dir);
  options.configs_dir = args.Get("configs", options.configs_dir);
  config::DistributedConfig distributed;
  auto runtime = StartRuntime(distributed, "demo");
  if (!runtime.ok()) {
    ReportError("demo", runtime.status());
    return kExitFailure;
  }
  train::InstallPreemptionHandlers();
  absl::StatusOr<demo::DemoResult> result = absl::UnknownError("not run");
  try {
    result = demo::RunDemo(options, *runtime->comm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "brain demo: internal error: %s\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, kExitFailure);
  }
  if (!result.ok()) {
    ReportError("demo", result.status());
    return kExitFailure;
  }
  if (runtime->world->rank() == 0) {
    std::printf("\n%s", result->Table().c_str());
    std::printf("results: %s/results.json\n", options.out_dir.c_str());
  }
  return kExitOk;
}

}  // namespace

Subcommand DemoCommand() {
  Subcommand cmd;
  cmd.name = "demo";
  cmd.summary = "run the built-in demo: SFT, reward model, then BRAIn vs DPO on a synthetic task";
  cmd.description =
      "Generates a small synthetic language task with a hidden gold reward (the share of the\n"
      "vowels a, e, i in a response of letters), trains a tiny SFT model, a Bradley-Terry reward\n"
      "model on gold-labelled pairs, then BRAIn and DPO from the SFT model with matched budgets, and\n"
      "prints gold reward, win rate vs SFT, KL to SFT and time per method. Needs no downloads; about\n"
      "ten seconds on 2 CPU cores with mpirun -np 2. Configs: CONFIGS/demo-sft, demo-rm, demo (BRAIn)\n"
      "and demo-dpo .textproto.";
  cmd.usage = "mpirun -np 2 brain demo [--out DIR] [--configs DIR]";
  cmd.options = {{"out", "DIR", "run directory (default runs/demo); a rerun resumes finished stages"},
                 {"configs", "DIR", "directory of the demo configs (default configs)"}};
  cmd.run = Run;
  return cmd;
}

}  // namespace brain::cli
