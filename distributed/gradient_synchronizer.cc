// Bucketed, overlapped gradient all-reduce through autograd hooks.
#include "distributed/gradient_synchronizer.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace brain::distributed {

GradientSynchronizer::GradientSynchronizer(std::vector<at::Tensor> params, Communicator& comm,
                                           BucketOptions options)
    : comm_(comm) {
  if (params.empty()) return;
  const auto dtype = params[0].scalar_type();
  const auto device = params[0].device();
  // Assign parameters to buckets in reverse order; a bucket closes once it reaches its byte budget.
  std::vector<std::vector<int>> members(1);
  int64_t bucket_bytes = 0;
  for (int i = static_cast<int>(params.size()) - 1; i >= 0; --i) {
    const at::Tensor& p = params[i];
    if (!p.requires_grad() || p.scalar_type() != dtype || p.device() != device) {
      throw std::invalid_argument("GradientSynchronizer: params must require grad and share dtype and device");
    }
    const double budget_mb = members.size() == 1 ? options.first_bucket_mb : options.bucket_mb;
    if (!members.back().empty() && bucket_bytes + static_cast<int64_t>(p.nbytes()) > budget_mb * 1024 * 1024) {
      members.emplace_back();
      bucket_bytes = 0;
    }
    members.back().push_back(i);
    bucket_bytes += p.nbytes();
  }
  slots_.resize(params.size());
  for (size_t b = 0; b < members.size(); ++b) {
    Bucket bucket;
    int64_t numel = 0;
    for (int i : members[b]) {
      slots_[i] = Slot{params[i], static_cast<int>(b), numel, false};
      numel += params[i].numel();
      bucket.slots.push_back(i);
    }
    bucket.flat = at::zeros({numel}, params[0].options().requires_grad(false));
    buckets_.push_back(std::move(bucket));
  }
  Reset();
  for (size_t i = 0; i < slots_.size(); ++i) {
    const int slot = static_cast<int>(i);
    slots_[i].param.register_hook([this, slot](const at::Tensor& grad) {
      OnGradient(slot, grad);
      return grad;
    });
  }
}

GradientSynchronizer::~GradientSynchronizer() {
  for (Bucket& b : buckets_) {
    if (b.work) b.work->Wait();  // never leave a collective with a dangling buffer
  }
}

void GradientSynchronizer::Reset() {
  for (Slot& s : slots_) s.ready = false;
  for (Bucket& b : buckets_) {
    b.pending = static_cast<int>(b.slots.size());
    b.work.reset();
  }
  next_launch_ = 0;
}

void GradientSynchronizer::OnGradient(int slot, const at::Tensor& grad) {
  if (!sync_) return;
  Slot& s = slots_[slot];
  if (s.ready) throw std::logic_error("GradientSynchronizer: a gradient arrived twice in one backward");
  // The hook sees this backward's contribution before it is accumulated into .grad, so the bucket
  // gets the accumulated total of all micro-steps: existing .grad + this contribution.
  at::Tensor target = buckets_[s.bucket].flat.narrow(0, s.offset, s.param.numel()).view_as(s.param);
  const at::Tensor& existing = s.param.grad();
  if (existing.defined()) {
    at::add_out(target, existing, grad);
  } else {
    target.copy_(grad);
  }
  s.ready = true;
  if (--buckets_[s.bucket].pending == 0) LaunchReadyBuckets();
}

void GradientSynchronizer::LaunchReadyBuckets() {
  while (next_launch_ < num_buckets() && buckets_[next_launch_].pending == 0) Launch(next_launch_++);
}

void GradientSynchronizer::Launch(int bucket) {
  buckets_[bucket].work = comm_.AllReduceAsync(buckets_[bucket].flat, ReduceOp::kSum);
}

void GradientSynchronizer::Finish() {
  if (!sync_) return;
  // Parameters without a gradient in this backward contribute their accumulated .grad (or zero).
  for (int b = next_launch_; b < num_buckets(); ++b) {
    for (int i : buckets_[b].slots) {
      Slot& s = slots_[i];
      if (s.ready) continue;
      at::Tensor target = buckets_[b].flat.narrow(0, s.offset, s.param.numel());
      const at::Tensor& existing = s.param.grad();
      existing.defined() ? target.copy_(existing.reshape({-1})) : target.zero_();
      s.ready = true;
    }
    buckets_[b].pending = 0;
  }
  LaunchReadyBuckets();
  for (Bucket& b : buckets_) {
    b.work->Wait();
    for (int i : b.slots) {
      Slot& s = slots_[i];
      at::Tensor summed = b.flat.narrow(0, s.offset, s.param.numel()).view_as(s.param);
      if (s.param.grad().defined()) {
        s.param.mutable_grad().copy_(summed);
      } else {
        s.param.mutable_grad() = summed.clone();
      }
    }
  }
  Reset();
}

}  // namespace brain::distributed
