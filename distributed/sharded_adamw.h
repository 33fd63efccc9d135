// ShardedAdamW (sharding stage 1): AdamW whose moments live only on the rank that owns each slice of the
// flattened parameters; gradients are reduce-scattered, updated slices all-gathered.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "distributed/communicator.h"

namespace brain::distributed {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled: p ← p·(1 − lr·wd)
};

class ShardedAdamW {
 public:
  // `params` share dtype and device. Rank r owns EvenSplit(total numel, size)[r] consecutive elements of
  // the parameters flattened in order; its moments (and fp32 master copy for 16-bit params) cover only
  // that slice, so optimiser memory per rank falls as 1/size.
  ShardedAdamW(std::vector<at::Tensor> params, Communicator& comm, AdamWOptions options = {});

  // One AdamW step with learning rate `lr`. With `grads_reduced` false the ranks' local .grad() are
  // SUM-reduce-scattered here (each rank's loss is its share of the global loss); with true they already
  // hold the all-rank sum (e.g. from GradientSynchronizer) and only the owned slice is read. Parameters
  // without a gradient count as zero gradient. Afterwards every rank holds the same updated parameters.
  void Step(double lr, bool grads_reduced = false);

  int64_t owned_numel() const { return owned_numel_; }
  int64_t owned_offset() const { return owned_offset_; }
  int64_t step() const { return step_; }

 private:
  at::Tensor FlatGradients() const;

  std::vector<at::Tensor> params_;
  Communicator& comm_;
  AdamWOptions options_;
  int64_t total_numel_ = 0;
  int64_t owned_offset_ = 0;
  int64_t owned_numel_ = 0;
  at::Tensor master_, exp_avg_, exp_avg_sq_;  // [owned_numel], fp32 (fp64 for fp64 params)
  int64_t step_ = 0;
};

}  // namespace brain::distributed
