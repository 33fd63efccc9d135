// Stage-3 AdamW: the ShardedAdamW math applied to each block's owned shard.
#include "distributed/stage3_adamw.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "distributed/adamw_update.h"

namespace brain::distributed {

Stage3AdamW::Stage3AdamW(ShardedParameters& params, AdamWOptions options)
    : params_(params), options_(options) {
  for (int b = 0; b < params_.num_blocks(); ++b) {
    const at::Tensor& shard = params_.shard(b);
    const bool low = shard.scalar_type() != at::kFloat && shard.scalar_type() != at::kDouble;
    master_.push_back(low ? shard.to(at::kFloat) : shard);
    exp_avg_.push_back(at::zeros_like(master_.back()));
    exp_avg_sq_.push_back(at::zeros_like(master_.back()));
  }
}

double Stage3AdamW::ReduceGradients() {
  params_.FinishGradients();
  at::NoGradGuard no_grad;
  double local = 0;
  for (int b = 0; b < params_.num_blocks(); ++b) {
    const at::Tensor& g = params_.grad_shard(b);
    if (g.defined()) local += SumOfSquares(g);
  }
  at::Tensor sum_sq = at::full({1}, local, master_[0].options().dtype(at::kDouble));
  params_.comm().AllReduce(sum_sq, ReduceOp::kSum);
  return std::sqrt(sum_sq.cpu().item<double>());
}

void Stage3AdamW::SkipStep() { params_.ZeroGrad(); }

void Stage3AdamW::ApplyStep(double lr, double grad_scale) {
  at::NoGradGuard no_grad;
  ++step_;
  const AdamWScalars scalars = StepScalars(options_, step_, lr, grad_scale);
  for (int b = 0; b < params_.num_blocks(); ++b) {
    const at::Tensor& g_shard = params_.grad_shard(b);
    const at::Tensor grad =
        g_shard.defined() ? g_shard.to(master_[b].scalar_type()).contiguous() : at::zeros_like(master_[b]);
    AdamWUpdate(master_[b], grad, exp_avg_[b], exp_avg_sq_[b], scalars);
    if (!master_[b].is_same(params_.shard(b))) params_.shard(b).copy_(master_[b]);
  }
  params_.ZeroGrad();
}

void Stage3AdamW::Step(double lr) {
  ReduceGradients();
  ApplyStep(lr, 1.0);
}

std::map<std::string, at::Tensor> Stage3AdamW::StateTensors() const {
  std::map<std::string, at::Tensor> out;
  for (size_t b = 0; b < master_.size(); ++b) {
    out[absl::StrCat("adam_exp_avg.", b)] = exp_avg_[b];  // live tensors, as in ShardedAdamW
    out[absl::StrCat("adam_exp_avg_sq.", b)] = exp_avg_sq_[b];
    if (!master_[b].is_same(params_.shard(b))) out[absl::StrCat("adam_master.", b)] = master_[b];
  }
  out["adam_step"] = at::tensor({step_}, at::kLong);
  return out;
}

absl::Status Stage3AdamW::LoadStateTensors(const std::map<std::string, at::Tensor>& tensors) {
  absl::Status status = absl::OkStatus();
  if (tensors.find("adam_step") == tensors.end() || tensors.at("adam_step").numel() != 1) {
    status = absl::InvalidArgumentError("optimizer state: missing \"adam_step\" (int64 [1])");
  }
  for (size_t b = 0; b < master_.size() && status.ok(); ++b) {
    std::vector<std::string> keys = {absl::StrCat("adam_exp_avg.", b), absl::StrCat("adam_exp_avg_sq.", b)};
    if (!master_[b].is_same(params_.shard(b))) keys.push_back(absl::StrCat("adam_master.", b));
    for (const std::string& key : keys) {
      auto it = tensors.find(key);
      if (it == tensors.end()) {
        status = absl::InvalidArgumentError(absl::StrCat("optimizer state: missing \"", key, "\""));
      } else if (it->second.numel() != master_[b].numel() ||
                 it->second.scalar_type() != master_[b].scalar_type()) {
        status = absl::FailedPreconditionError(
            absl::StrCat("optimizer state: \"", key, "\" is ", c10::toString(it->second.scalar_type()),
                         c10::str(it->second.sizes()), "; expected ", c10::toString(master_[b].scalar_type()),
                         "[", master_[b].numel(), "]"));
      }
      if (!status.ok()) break;
    }
  }
  at::Tensor failed = at::full({1}, status.ok() ? 0.0 : 1.0, master_[0].options().dtype(at::kDouble));
  params_.comm().AllReduce(failed, ReduceOp::kMax);
  if (!status.ok()) return status;
  if (failed.cpu().item<double>() > 0)
    return absl::AbortedError("optimizer state: another rank could not load");
  at::NoGradGuard no_grad;
  for (size_t b = 0; b < master_.size(); ++b) {
    exp_avg_[b].copy_(tensors.at(absl::StrCat("adam_exp_avg.", b)).reshape({-1}));
    exp_avg_sq_[b].copy_(tensors.at(absl::StrCat("adam_exp_avg_sq.", b)).reshape({-1}));
    if (!master_[b].is_same(params_.shard(b))) {
      master_[b].copy_(tensors.at(absl::StrCat("adam_master.", b)).reshape({-1}));
    }
  }
  step_ = tensors.at("adam_step").to(at::kLong).reshape({-1})[0].item<int64_t>();
  return absl::OkStatus();
}

}  // namespace brain::distributed
