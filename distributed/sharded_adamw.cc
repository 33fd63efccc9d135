// Stage-1 AdamW: reduce-scatter gradients, update the owned slice, all-gather parameters.
#include "distributed/sharded_adamw.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <stdexcept>

namespace brain::distributed {

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

at::Tensor ShardedAdamW::FlatGradients() const {
  std::vector<at::Tensor> parts;
  for (const at::Tensor& p : params_) {
    parts.push_back(p.grad().defined() ? p.grad().reshape({-1}) : at::zeros({p.numel()}, p.options()));
  }
  return at::cat(parts);
}

void ShardedAdamW::Step(double lr, bool grads_reduced) {
  at::NoGradGuard no_grad;
  ++step_;
  at::Tensor flat_grad = FlatGradients();
  at::Tensor grad = grads_reduced ? flat_grad.narrow(0, owned_offset_, owned_numel_)
                                  : comm_.ReduceScatter(flat_grad, ReduceOp::kSum);
  grad = grad.to(master_.scalar_type());

  // AdamW on the owned slice (decoupled weight decay, bias-corrected moments).
  master_.mul_(1.0 - lr * options_.weight_decay);
  exp_avg_.mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);
  exp_avg_sq_.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  const double bias2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
  at::Tensor denom = (exp_avg_sq_.sqrt() / std::sqrt(bias2)).add_(options_.eps);
  master_.addcdiv_(exp_avg_, denom, -lr / bias1);

  // Every rank receives every slice, in rank order: the flattened parameters.
  at::Tensor updated = comm_.AllGather(master_.to(params_[0].scalar_type()));
  int64_t offset = 0;
  for (at::Tensor& p : params_) {
    p.detach().copy_(updated.narrow(0, offset, p.numel()).view_as(p));
    offset += p.numel();
  }
}

}  // namespace brain::distributed
