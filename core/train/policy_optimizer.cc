// AdamW with sharding stage, schedule, clipping and outlier skipping.
#include "core/train/policy_optimizer.h"

#include <torch/torch.h>

#include <cmath>

#include "core/train/lr_schedule.h"
#include "core/train/outlier_detector.h"
#include "distributed/gradient_synchronizer.h"
#include "distributed/mpi_communicator.h"
#include "distributed/sharded_adamw.h"
#include "distributed/sharded_parameters.h"
#include "distributed/stage3_adamw.h"

namespace brain::train {
namespace {

// Stage 3 checkpoints hold two optimisers' tensors; the one over the extra parameters gets this prefix.
constexpr char kExtraStatePrefix[] = "extra_params.";

}  // namespace

PolicyOptimizer::PolicyOptimizer(std::vector<torch::Tensor> params, distributed::Communicator& comm,
                                 const config::OptimizerConfig& options,
                                 const config::DistributedConfig& distributed, int64_t total_steps,
                                 distributed::ShardedParameters* sharded)
    : params_(std::move(params)), options_(options), total_steps_(total_steps) {
  distributed::AdamWOptions adam;
  adam.beta1 = options.adam_beta1();
  adam.beta2 = options.adam_beta2();
  adam.eps = options.adam_epsilon();
  adam.weight_decay = options.weight_decay();
  loss_outliers_ = std::make_unique<OutlierDetector>(options.outlier_factor());
  norm_outliers_ = std::make_unique<OutlierDetector>(options.outlier_factor());
  if (sharded != nullptr) {
    stage3_ = std::make_unique<distributed::Stage3AdamW>(*sharded, adam);
    if (!params_.empty()) adamw_ = std::make_unique<distributed::ShardedAdamW>(params_, comm, adam);
    return;
  }
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
  double squared_norm = 0;
  if (stage3_) squared_norm += std::pow(stage3_->ReduceGradients(), 2);
  if (adamw_) squared_norm += std::pow(adamw_->ReduceGradients(/*grads_reduced=*/sync_ != nullptr), 2);
  result.grad_norm = std::sqrt(squared_norm);
  result.learning_rate = LearningRate(step, options_, total_steps_);
  // Outliers are judged on values every rank shares (global loss, global norm), so ranks agree.
  const bool loss_outlier = loss_outliers_->IsOutlier(loss);
  const bool norm_outlier = norm_outliers_->IsOutlier(result.grad_norm);
  result.skipped = loss_outlier || norm_outlier;
  if (result.skipped) {
    if (stage3_) stage3_->SkipStep();
    if (adamw_) adamw_->SkipStep();
  } else {
    const double clip = distributed::ClipCoefficient(result.grad_norm, options_.max_grad_norm());
    if (stage3_) stage3_->ApplyStep(result.learning_rate, clip);
    if (adamw_) adamw_->ApplyStep(result.learning_rate, clip);
    loss_outliers_->Accept(loss);
    norm_outliers_->Accept(result.grad_norm);
  }
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
  return result;
}

std::map<std::string, torch::Tensor> PolicyOptimizer::StateTensors() const {
  if (!stage3_) return adamw_->StateTensors();
  std::map<std::string, torch::Tensor> out = stage3_->StateTensors();
  if (adamw_) {
    for (auto& [name, tensor] : adamw_->StateTensors()) out[kExtraStatePrefix + name] = tensor;
  }
  return out;
}

absl::Status PolicyOptimizer::LoadStateTensors(const std::map<std::string, torch::Tensor>& tensors) {
  if (!stage3_) return adamw_->LoadStateTensors(tensors);
  std::map<std::string, torch::Tensor> own, extra;
  const std::string prefix = kExtraStatePrefix;
  for (const auto& [name, tensor] : tensors) {
    if (name.rfind(prefix, 0) == 0) {
      extra[name.substr(prefix.size())] = tensor;
    } else {
      own[name] = tensor;
    }
  }
  if (auto status = stage3_->LoadStateTensors(own); !status.ok()) return status;
  return adamw_ ? adamw_->LoadStateTensors(extra) : absl::OkStatus();
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
