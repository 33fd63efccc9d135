// GradientSynchronizer (sharding stage 0): gradients packed into buckets and SUM-all-reduced as they
// become ready during backward, so communication overlaps the rest of backward.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "distributed/communicator.h"

namespace brain::distributed {

struct BucketOptions {
  double first_bucket_mb = 1;  // small, so the first all-reduce starts early in backward
  double bucket_mb = 25;
};

class GradientSynchronizer {
 public:
  // Registers gradient hooks on `params` (leaf tensors requiring grad, same dtype and device).
  // Buckets follow the reverse of `params` order, the order in which backward usually produces them.
  GradientSynchronizer(std::vector<at::Tensor> params, Communicator& comm, BucketOptions options = {});
  ~GradientSynchronizer();
  GradientSynchronizer(const GradientSynchronizer&) = delete;
  GradientSynchronizer& operator=(const GradientSynchronizer&) = delete;

  // Off during gradient-accumulation micro-steps (grads only accumulate locally); on (the default)
  // for the micro-step that ends the optimiser step.
  void set_sync(bool sync) { sync_ = sync; }
  bool sync() const { return sync_; }

  // After backward of a syncing micro-step: launches the buckets not yet launched (parameters that got
  // no gradient count as zero), waits for all, and writes the all-rank sums into every param.grad().
  void Finish();

  int num_buckets() const { return static_cast<int>(buckets_.size()); }

 private:
  struct Slot {
    at::Tensor param;
    int bucket = 0;
    int64_t offset = 0;  // in the bucket's flat buffer
    bool ready = false;
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<int> slots;
    int pending = 0;  // slots not yet ready in this backward
    std::unique_ptr<Work> work;
  };

  void OnGradient(int slot, const at::Tensor& grad);
  void LaunchReadyBuckets();  // in bucket order, identical on every rank
  void Launch(int bucket);
  void Reset();

  Communicator& comm_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  int next_launch_ = 0;
  bool sync_ = true;
};

}  // namespace brain::distributed
