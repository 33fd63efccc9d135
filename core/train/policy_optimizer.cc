// AdamW with sharding stage, schedule, clipping and outlier skipping.
#include "core/train/policy_optimizer.h"

#include <torch/torch.h>

#include <cmath>

#include "core/train/lr_schedule.h"
#include "core/train/outlier_detector.h"
#include "distributed/gradient_synchronizer.h"
#include "distributed/mpi_communicator.h"
#include "distributed/sharded_adamw.h"

namespace brain::train {

PolicyOptimizer::PolicyOptimizer(std::vector<torch::Tensor> params, distributed::Communicator& comm,
                                 const config::OptimizerConfig& options,
                                 const config::DistributedConfig& distributed, int64_t total_steps)
    : params_(std::move(params)), options_(options), total_steps_(total_steps) {
  distributed::AdamWOptions adam;
  adam.beta1 = options.adam_beta1();
  adam.beta2 = options.adam_beta2();
  adam.eps = options.adam_epsilon();
  adam.weight_decay = options.weight_decay();
  distributed::Communicator* update_comm = &comm;
  if (distributed.sharding_stage() == 0 && comm.size() > 1) {
    sync_ = std::make_unique<distributed::GradientSynchronizer>(
        params_, comm, distributed::BucketOptions{distributed.first_bucket_mb(), distributed.bucket_mb()});
    if (auto* mpi = dynamic_cast<distributed::MpiCommunicator*>(&comm)) {
      self_ = mpi->Split(/*color=*/comm.rank(), /*key=*/0);
      update_comm = self_.get();
    }
  }
  adamw_ = std::make_unique<distributed::ShardedAdamW>(params_, *update_comm, adam);
  loss_outliers_ = std::make_unique<OutlierDetector>(options.outlier_factor());
  norm_outliers_ = std::make_unique<OutlierDetector>(options.outlier_factor());
}

PolicyOptimizer::~PolicyOptimizer() = default;

void PolicyOptimizer::BeginMicroBatch(bool last) {
  if (sync_) sync_->set_sync(last);
}

void PolicyOptimizer::FinishBackward() {
  if (sync_) sync_->Finish();
}

OptimizerStepResult PolicyOptimizer::Step(int64_t step, double loss) {
  OptimizerStepResult result;
  result.grad_norm = adamw_->ReduceGradients(/*grads_reduced=*/sync_ != nullptr);
  result.learning_rate = LearningRate(step, options_, total_steps_);
  // Outliers are judged on values every rank shares (global loss, global norm), so ranks agree.
  const bool loss_outlier = loss_outliers_->IsOutlier(loss);
  const bool norm_outlier = norm_outliers_->IsOutlier(result.grad_norm);
  result.skipped = loss_outlier || norm_outlier;
  if (result.skipped) {
    adamw_->SkipStep();
  } else {
    adamw_->ApplyStep(result.learning_rate, distributed::ClipCoefficient(result.grad_norm, options_.max_grad_norm()));
    loss_outliers_->Accept(loss);
    norm_outliers_->Accept(result.grad_norm);
  }
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
  return result;
}

std::map<std::string, torch::Tensor> PolicyOptimizer::StateTensors() const { return adamw_->StateTensors(); }

absl::Status PolicyOptimizer::LoadStateTensors(const std::map<std::string, torch::Tensor>& tensors) {
  return adamw_->LoadStateTensors(tensors);
}

void PolicyOptimizer::SaveState(checkpoint::TrainerState* state) const {
  (*state->mutable_outlier_detectors())["loss"] = loss_outliers_->ToProto();
  (*state->mutable_outlier_detectors())["grad_norm"] = norm_outliers_->ToProto();
}

absl::Status PolicyOptimizer::LoadState(const checkpoint::TrainerState& state) {
  for (auto [name, detector] : {std::pair{"loss", loss_outliers_.get()}, std::pair{"grad_norm", norm_outliers_.get()}}) {
    auto it = state.outlier_detectors().find(name);
    if (it == state.outlier_detectors().end()) continue;
    if (auto status = detector->FromProto(it->second); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace brain::train
