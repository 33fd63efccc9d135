// Stage-1 AdamW: reduce-scatter gradients, update the owned slice, all-gather parameters.
#include "distributed/sharded_adamw.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "distributed/adamw_update.h"

namespace brain::distributed {
double ClipCoefficient(double grad_norm, double max_norm) {
  if (max_norm <= 0) return 1.0;
  return std::min(1.0, max_norm / (grad_norm + 1e-6));
}

ShardedAdamW::ShardedAdamW(std::vector<at::Tensor> params, Communicator& comm, AdamWOptions options)
    : params_(std::move(params)), comm_(comm), options_(options) {
  if (params_.empty()) throw std::invalid_argument("ShardedAdamW: no parameters");
  for (const at::Tensor& p : params_) {
    if (p.scalar_type() != params_[0].scalar_type() || p.device() != params_[0].device()) {
      throw std::invalid_argument("ShardedAdamW: parameters must share dtype and device");
    }
    total_numel_ += p.numel();
  }
  const std::vector<int64_t> split = EvenSplit(total_numel_, comm_.size());
  for (int r = 0; r < comm_.rank(); ++r) owned_offset_ += split[r];
  owned_numel_ = split[comm_.rank()];
  const at::ScalarType state_type = params_[0].scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  bool all_contiguous = true;
  for (const at::Tensor& p : params_) all_contiguous = all_contiguous && p.is_contiguous();
  at::NoGradGuard no_grad;
  if (params_[0].scalar_type() == state_type && all_contiguous) {
    // The parameters are their own master copy: the owned slice is a list of views into them.
    int64_t start = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
      const at::Tensor& p = params_[i];
      const int64_t lo = std::max(start, owned_offset_);
      const int64_t hi = std::min(start + p.numel(), owned_offset_ + owned_numel_);
      if (lo < hi) {
        owned_segments_.push_back(
            {p.detach().view({-1}).narrow(0, lo - start, hi - lo), lo - owned_offset_, static_cast<int>(i)});
      }
      start += p.numel();
    }
    exp_avg_ = at::zeros({owned_numel_}, params_[0].options().dtype(state_type));
  } else {
    std::vector<at::Tensor> parts;
    for (const at::Tensor& p : params_) parts.push_back(p.detach().reshape({-1}));
    master_ = at::cat(parts).narrow(0, owned_offset_, owned_numel_).to(state_type).clone();
    exp_avg_ = at::zeros_like(master_);
  }
  exp_avg_sq_ = at::zeros_like(exp_avg_);
}

at::Tensor ShardedAdamW::TakeFlatGradients() {
  at::Tensor flat = at::empty({total_numel_}, params_[0].options());
  int64_t offset = 0;
  for (at::Tensor& p : params_) {
    at::Tensor slot = flat.narrow(0, offset, p.numel());
    if (p.grad().defined()) {
      slot.copy_(p.grad().reshape({-1}));
    } else {
      slot.zero_();
    }
    p.mutable_grad() = at::Tensor();  // released as soon as it is copied: one gradient copy at a time
    offset += p.numel();
  }
  return flat;
}

void ShardedAdamW::KeepOwnedGradient(bool grads_reduced) {
  at::NoGradGuard no_grad;
  owned_grads_.clear();
  if (!master_.defined() && comm_.size() == 1) {
    // One rank, in place: each parameter's own gradient is its segment's gradient (no flat copy).
    for (const OwnedSegment& segment : owned_segments_) {
      at::Tensor& p = params_[segment.param];
      owned_grads_.push_back(p.grad().defined() ? p.grad().reshape({-1}) : at::zeros_like(segment.values));
      p.mutable_grad() = at::Tensor();  // the step consumes it
    }
    return;
  }
  at::Tensor flat_grad = TakeFlatGradients();
  at::Tensor grad = grads_reduced ? flat_grad.narrow(0, owned_offset_, owned_numel_)
                                  : comm_.ReduceScatter(flat_grad, ReduceOp::kSum);
  grad = grad.to(exp_avg_.scalar_type()).contiguous();
  if (master_.defined()) {
    owned_grads_.push_back(grad);
    return;
  }
  for (const OwnedSegment& segment : owned_segments_) {
    owned_grads_.push_back(grad.narrow(0, segment.offset, segment.values.numel()));
  }
}

double ShardedAdamW::ReduceGradients(bool grads_reduced) {
  KeepOwnedGradient(grads_reduced);
  at::NoGradGuard no_grad;
  // The owned slices partition the summed gradient: the sum of their squared norms is the global one
  // (accumulated in fp64).
  double local = 0;
  for (const at::Tensor& g : owned_grads_) local += SumOfSquares(g);
  at::Tensor sum_sq = at::full({1}, local, exp_avg_.options().dtype(at::kDouble));
  comm_.AllReduce(sum_sq, ReduceOp::kSum);
  return std::sqrt(sum_sq.cpu().item<double>());
}

void ShardedAdamW::SkipStep() { owned_grads_.clear(); }

void ShardedAdamW::ApplyStep(double lr, double grad_scale) {
  if (owned_grads_.empty() && owned_numel_ > 0) {
    throw std::logic_error("ShardedAdamW::ApplyStep: call ReduceGradients first");
  }
  at::NoGradGuard no_grad;
  ++step_;
  const AdamWScalars scalars = StepScalars(options_, step_, lr, grad_scale);
  if (master_.defined()) {
    Update(master_, 0, owned_grads_[0], scalars);
  } else {
    for (size_t k = 0; k < owned_segments_.size(); ++k) {
      Update(owned_segments_[k].values, owned_segments_[k].offset, owned_grads_[k], scalars);
    }
  }
  owned_grads_.clear();
  ShareOwnedSlices();
}

void ShardedAdamW::Update(at::Tensor& values, int64_t offset, const at::Tensor& grad, const AdamWScalars& scalars) {
  at::Tensor exp_avg = exp_avg_.narrow(0, offset, values.numel());
  at::Tensor exp_avg_sq = exp_avg_sq_.narrow(0, offset, values.numel());
  AdamWUpdate(values, grad, exp_avg, exp_avg_sq, scalars);
}

void ShardedAdamW::ShareOwnedSlices() {
  if (!master_.defined() && comm_.size() == 1) return;  // the parameters were updated in place
  at::Tensor owned;
  if (master_.defined()) {
    owned = master_.to(params_[0].scalar_type());
  } else {
    std::vector<at::Tensor> parts;
    for (const OwnedSegment& segment : owned_segments_) parts.push_back(segment.values);
    owned = parts.empty() ? at::empty({0}, params_[0].options()) : at::cat(parts);
  }
  // Every rank receives every slice, in rank order: the flattened parameters.
  at::Tensor updated = comm_.AllGather(owned);
  int64_t offset = 0;
  for (at::Tensor& p : params_) {
    p.detach().copy_(updated.narrow(0, offset, p.numel()).view_as(p));
    offset += p.numel();
  }
}

void ShardedAdamW::Step(double lr, bool grads_reduced) {
  KeepOwnedGradient(grads_reduced);
  ApplyStep(lr, 1.0);
}

std::map<std::string, at::Tensor> ShardedAdamW::StateTensors() const {
  // The live tensors, not copies: a checkpoint writes them straight from here (no 3x-parameter-sized
  // spike in memory while it saves).
  std::map<std::string, at::Tensor> state = {
      {"exp_avg", exp_avg_},
      {"exp_avg_sq", exp_avg_sq_},
      {"step", at::tensor({step_}, at::kLong)},
      {"shard",
       at::tensor({owned_offset_, owned_numel_, total_numel_, static_cast<int64_t>(comm_.size())}, at::kLong)}};
  if (master_.defined()) state["master"] = master_;
  return state;
}

absl::Status ShardedAdamW::LoadStateTensors(const std::map<std::string, at::Tensor>& tensors) {
  absl::Status status = ValidateState(tensors);
  // Collective agreement first, so that a rank whose file does not fit never leaves the others waiting
  // in the all-gather below.
  at::Tensor failed = at::full({1}, status.ok() ? 0.0 : 1.0, exp_avg_.options().dtype(at::kDouble));
  comm_.AllReduce(failed, ReduceOp::kMax);
  if (!status.ok()) return status;
  if (failed.cpu().item<double>() > 0) {
    return absl::AbortedError("optimizer state: another rank could not load its optimizer state");
  }
  at::NoGradGuard no_grad;
  exp_avg_.copy_(tensors.at("exp_avg"));
  exp_avg_sq_.copy_(tensors.at("exp_avg_sq"));
  step_ = tensors.at("step").to(at::kLong).reshape({-1})[0].item<int64_t>();
  owned_grads_.clear();
  // A saved master slice is authoritative: the parameters follow it (all-gathered, so every rank agrees
  // even if the model weights were not restored). Without one the parameters are their own master and
  // come from the model weights.
  const auto master = tensors.find("master");
  if (master == tensors.end()) return absl::OkStatus();
  if (master_.defined()) {
    master_.copy_(master->second);
  } else {
    for (OwnedSegment& segment : owned_segments_) {
      segment.values.copy_(master->second.narrow(0, segment.offset, segment.values.numel()));
    }
  }
  ShareOwnedSlices();
  return absl::OkStatus();
}

absl::Status ShardedAdamW::ValidateState(const std::map<std::string, at::Tensor>& tensors) const {
  for (const char* key : {"exp_avg", "exp_avg_sq", "master", "step", "shard"}) {
    if (std::string_view(key) == "master" && !master_.defined()) continue;  // optional: params are the master
    if (tensors.find(key) == tensors.end()) {
      return absl::InvalidArgumentError(absl::StrCat("optimizer state: missing tensor \"", key, "\""));
    }
  }
  const at::Tensor shard = tensors.at("shard").to(at::kLong).reshape({-1});
  const at::Tensor step = tensors.at("step").to(at::kLong).reshape({-1});
  if (shard.numel() != 4 || step.numel() != 1) {
    return absl::InvalidArgumentError("optimizer state: \"shard\" must have 4 and \"step\" 1 element(s)");
  }
  const int64_t saved_offset = shard[0].item<int64_t>(), saved_numel = shard[1].item<int64_t>();
  const int64_t saved_total = shard[2].item<int64_t>(), saved_size = shard[3].item<int64_t>();
  if (saved_size != comm_.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "optimizer state was saved by a run with ", saved_size, " rank(s) but this run has ", comm_.size(),
        ": the AdamW moments are sharded per rank, so resume with ", saved_size, " rank(s)"));
  }
  if (saved_total != total_numel_) {
    return absl::FailedPreconditionError(absl::StrCat("optimizer state covers ", saved_total,
                                                      " parameter elements but the model has ", total_numel_));
  }
  if (saved_offset != owned_offset_ || saved_numel != owned_numel_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "optimizer state: rank ", comm_.rank(), " owns elements [", owned_offset_, ", +", owned_numel_,
        ") but the state file holds [", saved_offset, ", +", saved_numel, ") (a different rank's file?)"));
  }
  const at::ScalarType state_type = exp_avg_.scalar_type();
  for (const char* key : {"exp_avg", "exp_avg_sq", "master"}) {
    const auto found = tensors.find(key);
    if (found == tensors.end()) continue;
    const at::Tensor& t = found->second;
    if (t.scalar_type() != state_type || t.dim() != 1 || t.size(0) != owned_numel_) {
      return absl::InvalidArgumentError(absl::StrCat("optimizer state: \"", key, "\" is ",
                                                     c10::toString(t.scalar_type()), c10::str(t.sizes()),
                                                     "; expected ", c10::toString(state_type), "[",
                                                     owned_numel_, "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace brain::distributed
