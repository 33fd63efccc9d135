// TrainerCheckpoint: what the Trainer saves and restores — model, optimiser shards, task extras and
// TrainerState (step, RNG, outlier windows, config hash) — through the CheckpointManager.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/causal_lm.h"
#include "core/train/checkpoint_manager.h"
#include "core/train/policy_optimizer.h"
#include "core/train/training_task.h"
#include "distributed/communicator.h"
#include "proto/config.pb.h"

namespace brain::distributed {
class ShardedParameters;
}  // namespace brain::distributed

namespace brain::train {

// Maps a checkpoint's model.safetensors key to the model's parameter name, skipping the task extras
// ("extra/...": BRAIn's lagging proposal, AVA's reward head). For model::LoadStateDict.
std::optional<std::string> CheckpointModelKey(const std::string& key);

class TrainerCheckpoint {
 public:
  TrainerCheckpoint(const config::ExperimentConfig& config, distributed::Communicator& comm, std::string run_dir);
  ~TrainerCheckpoint();

  // Collective: writes checkpoint `step` (and prunes to checkpoint.keep_last). With `sharded` (stage 3)
  // the model's full parameters are gathered from the shards (every rank takes part), so the checkpoint
  // looks the same at every sharding stage.
  absl::Status Save(int64_t step, model::CausalLm& model, PolicyOptimizer& optimizer, TrainingTask& task,
                    distributed::ShardedParameters* sharded = nullptr);
  // Resume in two steps, because stage 3 shards the model between them. RestoreModel (collective) finds
  // the newest complete checkpoint and loads the model's and the task's tensors; nullopt when there is
  // none (a fresh run). RestoreOptimizer (collective) then restores the optimiser and the torch RNG.
  absl::StatusOr<std::optional<LoadedCheckpoint>> RestoreModel(model::CausalLm& model, TrainingTask& task);
  absl::Status RestoreOptimizer(const LoadedCheckpoint& loaded, PolicyOptimizer& optimizer);
  // The steps of the complete checkpoints on disk (ascending; local, no verification).
  std::vector<int64_t> CompleteSteps() const;

 private:
  const config::ExperimentConfig& config_;
  distributed::Communicator& comm_;
  std::string config_hash_;
  std::unique_ptr<CheckpointManager> manager_;
};

}  // namespace brain::train
