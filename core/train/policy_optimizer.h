// PolicyOptimizer: AdamW over the trained parameters with the configured sharding stage, schedule,
// global-norm clipping and outlier skipping.
#pragma once

#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "distributed/communicator.h"
#include "proto/checkpoint.pb.h"
#include "proto/config.pb.h"

namespace brain::distributed {
class GradientSynchronizer;
class ShardedAdamW;
class ShardedParameters;
class Stage3AdamW;
}  // namespace brain::distributed

namespace brain::train {

class OutlierDetector;

struct OptimizerStepResult {
  double learning_rate = 0;
  double grad_norm = 0;  // global L2 norm of the summed gradient, before clipping
  bool skipped = false;  // outlier or non-finite: no update
};

class PolicyOptimizer {
 public:
  // Stage 0: gradients all-reduced in buckets during backward (GradientSynchronizer), then every rank
  // updates all parameters (AdamW over a one-rank communicator: no further collective);
  // stage 1: gradients reduce-scattered, optimiser state sharded, parameters all-gathered (ShardedAdamW
  // over `comm`);
  // stage 3 (`sharded` set): the sharded parameters are updated shard by shard (Stage3AdamW), and `params`
  // are only the trained tensors outside them (e.g. AVA's reward head), updated as in stage 1.
  // All keep fp32 moments (and an fp32 master copy for 16-bit parameters). `total_steps` sets the length
  // of the learning-rate schedule.
  PolicyOptimizer(std::vector<torch::Tensor> params, distributed::Communicator& comm,
                  const config::OptimizerConfig& options, const config::DistributedConfig& distributed,
                  int64_t total_steps, distributed::ShardedParameters* sharded = nullptr);
  ~PolicyOptimizer();

  // Before each micro-batch's backward: only the last micro-batch of a step all-reduces (stage 0).
  void BeginMicroBatch(bool last);
  // Right after the step's last backward (before any other collective, so ranks without micro-batches
  // launch the bucket all-reduces at the same point of the collective sequence): completes the stage-0
  // gradient all-reduce.
  void FinishBackward();
  // Then: reduces gradients (stage 1), clips, skips outliers, updates, zeroes grads.
  OptimizerStepResult Step(int64_t step, double loss);

  // Optimiser moments and master weights (this rank's shard) for checkpoints; the outlier detectors'
  // windows travel in the TrainerState.
  std::map<std::string, torch::Tensor> StateTensors() const;
  absl::Status LoadStateTensors(const std::map<std::string, torch::Tensor>& tensors);
  void SaveState(checkpoint::TrainerState* state) const;
  absl::Status LoadState(const checkpoint::TrainerState& state);

 private:
  std::vector<torch::Tensor> params_;
  config::OptimizerConfig options_;
  int64_t total_steps_;
  std::unique_ptr<distributed::Communicator> self_;  // stage 0 with several ranks: this rank alone
  std::unique_ptr<distributed::GradientSynchronizer> sync_;
  std::unique_ptr<distributed::ShardedAdamW> adamw_;    // null at stage 3 without extra parameters
  std::unique_ptr<distributed::Stage3AdamW> stage3_;   // stage 3 only
  std::unique_ptr<OutlierDetector> loss_outliers_, norm_outliers_;
};

}  // namespace brain::train
