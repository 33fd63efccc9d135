// RunTraining: one `brain sft|rm|dpo|align` run from a validated config — run directory, tokenizer,
// models, data, objective, the Trainer, and the final HF export.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/train/trainer.h"
#include "distributed/communicator.h"
#include "proto/config.pb.h"

namespace brain::train {

struct TrainingRunOptions {
  int64_t stop_after_steps = 0;  // checkpoint and stop as if preempted after this many steps (0 = off)
};

struct TrainingRunOutcome {
  TrainerResult trainer;
  std::string export_dir;  // run_dir/export (an HF directory), written when the run completed
};

// Collective. The run directory (config.output_dir) gets config.textproto (the resolved config),
// metrics.jsonl, TensorBoard events, checkpoints/, samples/ (BRAIn) and export/. A directory that
// already holds checkpoints of a different config is refused (nothing there is touched).
absl::StatusOr<TrainingRunOutcome> RunTraining(const config::ExperimentConfig& config, distributed::Communicator& comm,
                                               const TrainingRunOptions& options = {});

}  // namespace brain::train
