// `brain sft`, `brain rm`, `brain dpo`, `brain align`, `brain ava`: config-driven training runs.
#include <mpi.h>

#include <cstdio>
#include <exception>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "core/config/config_loader.h"
#include "core/train/preemption.h"
#include "core/train/training_run.h"
#include "launch/commands/command_runtime.h"
#include "launch/commands/commands.h"

namespace brain::cli {
namespace {

using Algorithm = config::ExperimentConfig::AlgorithmCase;

const char* AlgorithmField(Algorithm algorithm) {
  switch (algorithm) {
    case config::ExperimentConfig::kSft: return "sft";
    case config::ExperimentConfig::kRewardModel: return "reward_model";
    case config::ExperimentConfig::kDpo: return "dpo";
    case config::ExperimentConfig::kBrain: return "brain";
    case config::ExperimentConfig::kAva: return "ava";
    default: return "(none)";
  }
}

int RunTrainingCommand(const ParsedArgs& args, const std::string& verb, Algorithm expected) {
  int64_t stop_after = 0;
  if (args.Has("stop-after-steps") &&
      (!absl::SimpleAtoi(args.Get("stop-after-steps"), &stop_after) || stop_after < 1)) {
    std::fprintf(stderr, "brain %s: --stop-after-steps: expected a positive integer, got '%s'\n", verb.c_str(),
                 args.Get("stop-after-steps").c_str());
    return kExitUsage;
  }
  auto config = config::LoadConfigFile(args.Get("config"), args.GetAll("set"));
  if (!config.ok()) {
    if (LauncherRankZero()) {
      std::fprintf(stderr, "brain %s: invalid config\n%s\n", verb.c_str(),
                   std::string(config.status().message()).c_str());
    }
    return kExitFailure;
  }
  if (config->algorithm_case() != expected) {
    if (LauncherRankZero()) {
      std::fprintf(stderr, "brain %s: %s: the config selects algorithm '%s', but `brain %s` trains '%s' (set %s { ... })\n",
                   verb.c_str(), args.Get("config").c_str(), AlgorithmField(config->algorithm_case()),
                   verb.c_str(), AlgorithmField(expected), AlgorithmField(expected));
    }
    return kExitFailure;
  }
  auto runtime = StartRuntime(config->distributed(), verb);
  if (!runtime.ok()) {
    ReportError(verb, runtime.status());
    return kExitFailure;
  }
  train::InstallPreemptionHandlers();
  train::TrainingRunOptions options;
  options.stop_after_steps = stop_after;
  absl::StatusOr<train::TrainingRunOutcome> outcome = absl::UnknownError("not run");
  try {
    outcome = train::RunTraining(*config, *runtime->comm, options);
  } catch (const std::exception& e) {
    // LibTorch reports shape/dtype/device problems as exceptions; name the run and the reason.
    std::fprintf(stderr, "brain %s: %s: internal error: %s\n", verb.c_str(), config->output_dir().c_str(), e.what());
    MPI_Abort(MPI_COMM_WORLD, kExitFailure);
  }
  if (!outcome.ok()) {
    ReportError(verb, outcome.status());
    return kExitFailure;
  }
  if (outcome->trainer.preempted) {
    // mpirun kills the other ranks once one exits non-zero: leave together, after everything is written.
    runtime->comm->Barrier();
    return train::kExitPreempted;
  }
  if (runtime->world->rank() == 0) {
    std::fprintf(stderr, "[%s] done: %lld steps in %.1f s%s; model: %s\n", verb.c_str(),
                 static_cast<long long>(outcome->trainer.steps), outcome->trainer.seconds,
                 outcome->trainer.resumed ? " (resumed)" : "", outcome->export_dir.c_str());
  }
  return kExitOk;
}

std::vector<OptionSpec> TrainOptions() {
  std::vector<OptionSpec> options = ConfigOptions();
  options.push_back({"stop-after-steps", "N",
                     "checkpoint and exit with status 75 after N optimiser steps, as on SIGUSR1 (resume by rerunning)"});
  return options;
}

Subcommand TrainCommand(std::string name, std::string summary, std::string description, Algorithm algorithm) {
  Subcommand cmd;
  cmd.name = name;
  cmd.summary = std::move(summary);
  cmd.description = std::move(description) +
                    "\n\nThe run directory (output_dir) receives config.textproto, metrics.jsonl, TensorBoard\n"
                    "events, checkpoints/ and, at the end, export/ (an HF directory). Rerunning the same\n"
                    "command resumes from the newest complete checkpoint. SIGUSR1 or SIGTERM: checkpoint,\n"
                    "then exit with status 75.";
  cmd.usage = "mpirun -np N brain " + name + " --config FILE [--set k=v]... [--stop-after-steps N]";
  cmd.options = TrainOptions();
  cmd.run = [name, algorithm](const ParsedArgs& args) { return RunTrainingCommand(args, name, algorithm); };
  return cmd;
}

}  // namespace

std::vector<Subcommand> TrainingCommands() {
  return {
      TrainCommand("sft", "supervised fine-tuning on demonstrations (prompt, response)",
                   "Token-mean negative log-likelihood of the response tokens (spec §2).",
                   config::ExperimentConfig::kSft),
      TrainCommand("rm", "train a Bradley-Terry reward model on preference pairs",
                   "-log sigmoid(r_chosen - r_rejected - margin) over pairs (spec §2); reports pairwise\n"
                   "accuracy. models.policy gives the initial backbone (an LM gets a fresh score head).",
                   config::ExperimentConfig::kRewardModel),
      TrainCommand("dpo", "direct preference optimisation (DPO, cDPO, IPO) against a frozen reference",
                   "DPO loss with beta, label smoothing and the IPO option (spec §2); the reference is\n"
                   "models.reference (default: the policy's initial weights).",
                   config::ExperimentConfig::kDpo),
      TrainCommand("align", "BRAIn: sample n per prompt, weight by the reward posterior, distil into the policy",
                   "Rounds of: sample n responses per prompt from the frozen proposal, score them with the\n"
                   "reward model and the SFT prior (models.reference, default the initial policy), cache the\n"
                   "round under samples/, train on whole groups with the self-normalised baseline, refresh the\n"
                   "proposal every brain.proposal_refresh_every rounds (spec §3).",
                   config::ExperimentConfig::kBrain),
      TrainCommand("ava", "AVA: approximated variational Bayesian inverse RL (AVA-d, AVA-p)",
                   "Token-level rewards with a TQR model: the policy's LM head as the Q head plus a\n"
                   "Gaussian reward head; likelihood, prior KL and TD terms, CER (spec §4). ava.mode AVA_D\n"
                   "trains on demonstrations, AVA_P on preference pairs. export/ holds the LM and\n"
                   "ava_reward_head.safetensors (mu, log sigma per position).",
                   config::ExperimentConfig::kAva),
  };
}

}  // namespace brain::cli
