// Trainer: the optimiser-step loop shared by every algorithm — plan, forward/backward, sync, update,
// metrics, checkpoints, exact resume and preemption.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "core/objectives/objective.h"
#include "core/train/training_task.h"
#include "distributed/communicator.h"
#include "proto/config.pb.h"

namespace brain::train {

struct TrainerOptions {
  std::string run_dir;
  std::string label = "train";   // progress-line prefix, e.g. "sft"
  int64_t rounds = 1;            // epochs (offline) or sampling rounds (BRAIn)
  int64_t steps_per_round = 0;   // 0 = one pass over a round's units
  // Tests and `--stop-after-steps`: behave as if preempted once this many steps are done (0 = never).
  int64_t stop_after_steps = 0;
};

struct TrainerResult {
  int64_t steps = 0;             // optimiser steps done in total (including a resumed run's earlier ones)
  bool preempted = false;        // checkpointed on request; the command exits with kExitPreempted
  bool resumed = false;
  std::map<std::string, double> final_metrics;  // the last logged step's metrics
  double seconds = 0;
};

// Runs `task` with `objective` to the planned number of steps, resuming from the newest complete
// checkpoint in run_dir/checkpoints when config.checkpoint.resume is set. Collective: every rank calls it.
absl::StatusOr<TrainerResult> RunTrainer(const config::ExperimentConfig& config, distributed::Communicator& comm,
                                         TrainingTask& task, const objectives::Objective& objective,
                                         const TrainerOptions& options);

}  // namespace brain::train
