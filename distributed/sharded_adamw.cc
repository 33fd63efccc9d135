// Stage-1 AdamW: reduce-scatter gradients, update the owned slice, all-gather parameters.
#include "distributed/sharded_adamw.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace brain::distributed {
namespace {

// Elements per pass of the norm and the update: bounds their temporaries (4 MiB of fp32).
constexpr int64_t kChunk = int64_t{1} << 20;

}  // namespace

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
  at::Tensor flat;
  {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> parts;
    for (const at::Tensor& p : params_) parts.push_back(p.detach().reshape({-1}));
    flat = at::cat(parts);
  }
  master_ = flat.narrow(0, owned_offset_, owned_numel_).to(state_type).clone();
  exp_avg_ = at::zeros_like(master_);
  exp_avg_sq_ = at::zeros_like(master_);
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
  at::Tensor flat_grad = TakeFlatGradients();
  at::Tensor grad = grads_reduced ? flat_grad.narrow(0, owned_offset_, owned_numel_)
                                  : comm_.ReduceScatter(flat_grad, ReduceOp::kSum);
  grad_ = grad.to(master_.scalar_type());
}

double ShardedAdamW::ReduceGradients(bool grads_reduced) {
  KeepOwnedGradient(grads_reduced);
  at::NoGradGuard no_grad;
  // The owned slices partition the summed gradient: the sum of their squared norms is the global one.
  // Accumulated in fp64 chunk by chunk, so no fp64 copy of the whole gradient is ever made.
  at::Tensor sum_sq = at::zeros({1}, grad_.options().dtype(at::kDouble));
  for (int64_t begin = 0; begin < owned_numel_; begin += kChunk) {
    sum_sq += grad_.narrow(0, begin, std::min(kChunk, owned_numel_ - begin)).to(at::kDouble).pow(2).sum();
  }
  comm_.AllReduce(sum_sq, ReduceOp::kSum);
  return std::sqrt(sum_sq.cpu().item<double>());
}

void ShardedAdamW::SkipStep() { grad_ = at::Tensor(); }

void ShardedAdamW::ApplyStep(double lr, double grad_scale) {
  if (!grad_.defined()) throw std::logic_error("ShardedAdamW::ApplyStep: call ReduceGradients first");
  at::NoGradGuard no_grad;
  ++step_;
  at::Tensor grad = std::move(grad_);  // this optimiser's own buffer (a copy of the gradients)
  if (grad_scale != 1.0) grad.mul_(grad_scale);

  // AdamW on the owned slice (decoupled weight decay, bias-corrected moments), chunk by chunk so the
  // temporaries stay small (one chunk, not one owned slice).
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  const double bias2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
  for (int64_t begin = 0; begin < owned_numel_; begin += kChunk) {
    const int64_t n = std::min(kChunk, owned_numel_ - begin);
    at::Tensor master = master_.narrow(0, begin, n), g = grad.narrow(0, begin, n);
    at::Tensor exp_avg = exp_avg_.narrow(0, begin, n), exp_avg_sq = exp_avg_sq_.narrow(0, begin, n);
    master.mul_(1.0 - lr * options_.weight_decay);
    exp_avg.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    exp_avg_sq.mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    at::Tensor denom = exp_avg_sq.sqrt().div_(std::sqrt(bias2)).add_(options_.eps);
    master.addcdiv_(exp_avg, denom, -lr / bias1);
  }
  grad = at::Tensor();

  // Every rank receives every slice, in rank order: the flattened parameters.
  at::Tensor updated = comm_.AllGather(master_.to(params_[0].scalar_type()));
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
  return {{"exp_avg", exp_avg_},
          {"exp_avg_sq", exp_avg_sq_},
          {"master", master_},
          {"step", at::tensor({step_}, at::kLong)},
          {"shard", at::tensor({owned_offset_, owned_numel_, total_numel_, static_cast<int64_t>(comm_.size())},
                               at::kLong)}};
}

absl::Status ShardedAdamW::LoadStateTensors(const std::map<std::string, at::Tensor>& tensors) {
  absl::Status status = ValidateState(tensors);
  // Collective agreement first, so that a rank whose file does not fit never leaves the others waiting
  // in the all-gather below.
  at::Tensor failed = at::full({1}, status.ok() ? 0.0 : 1.0, master_.options().dtype(at::kDouble));
  comm_.AllReduce(failed, ReduceOp::kMax);
  if (!status.ok()) return status;
  if (failed.cpu().item<double>() > 0) {
    return absl::AbortedError("optimizer state: another rank could not load its optimizer state");
  }
  at::NoGradGuard no_grad;
  exp_avg_.copy_(tensors.at("exp_avg"));
  exp_avg_sq_.copy_(tensors.at("exp_avg_sq"));
  master_.copy_(tensors.at("master"));
  step_ = tensors.at("step").to(at::kLong).reshape({-1})[0].item<int64_t>();
  grad_ = at::Tensor();
  // The parameters follow the master copies (all-gathered, so every rank agrees even if the model
  // weights were not restored).
  at::Tensor updated = comm_.AllGather(master_.to(params_[0].scalar_type()));
  int64_t offset = 0;
  for (at::Tensor& p : params_) {
    p.detach().copy_(updated.narrow(0, offset, p.numel()).view_as(p));
    offset += p.numel();
  }
  return absl::OkStatus();
}

absl::Status ShardedAdamW::ValidateState(const std::map<std::string, at::Tensor>& tensors) const {
  for (const char* key : {"exp_avg", "exp_avg_sq", "master", "step", "shard"}) {
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
  for (const char* key : {"exp_avg", "exp_avg_sq", "master"}) {
    const at::Tensor& t = tensors.at(key);
    if (t.scalar_type() != master_.scalar_type() || t.dim() != 1 || t.size(0) != owned_numel_) {
      return absl::InvalidArgumentError(absl::StrCat("optimizer state: \"", key, "\" is ",
                                                     c10::toString(t.scalar_type()), c10::str(t.sizes()),
                                                     "; expected ", c10::toString(master_.scalar_type()), "[",
                                                     owned_numel_, "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace brain::distributed
