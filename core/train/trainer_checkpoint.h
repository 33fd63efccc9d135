// TrainerCheckpoint: what the Trainer saves and restores — model, optimiser shards, task extras and
// TrainerState (step, RNG, outlier windows, config hash) — through the CheckpointManager.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/model/causal_lm.h"
#include "core/train/policy_optimizer.h"
#include "core/train/training_task.h"
#include "distributed/communicator.h"
#include "proto/config.pb.h"

namespace brain::train {

class CheckpointManager;

// Maps a checkpoint's model.safetensors key to the model's parameter name, skipping the task extras
// ("extra/...": BRAIn's lagging proposal, AVA's reward head). For model::LoadStateDict.
std::optional<std::string> CheckpointModelKey(const std::string& key);

class TrainerCheckpoint {
 public:
  TrainerCheckpoint(const config::ExperimentConfig& config, distributed::Communicator& comm, std::string run_dir);
  ~TrainerCheckpoint();

  // Collective: writes checkpoint `step` (and prunes to checkpoint.keep_last).
  absl::Status Save(int64_t step, model::CausalLm& model, PolicyOptimizer& optimizer, TrainingTask& task);
  // Collective: restores the newest complete checkpoint into model, optimiser, task and the torch RNG,
  // and returns its step; nullopt when there is none (a fresh run).
  absl::StatusOr<std::optional<int64_t>> Restore(model::CausalLm& model, PolicyOptimizer& optimizer,
                                                 TrainingTask& task);

 private:
  const config::ExperimentConfig& config_;
  distributed::Communicator& comm_;
  std::string config_hash_;
  std::unique_ptr<CheckpointManager> manager_;
};

}  // namespace brain::train
