// Stage3AdamW: AdamW over the parameter shards of ShardedParameters (stage 3), each rank updating its own.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "distributed/sharded_adamw.h"
#include "distributed/sharded_parameters.h"

namespace brain::distributed {

class Stage3AdamW {
 public:
  // Moments (and an fp32 master copy for 16-bit parameters) cover only this rank's shards.
  explicit Stage3AdamW(ShardedParameters& params, AdamWOptions options = {});

  // ReduceGradients (collective): FinishGradients, then returns the global L2 norm of the summed
  // gradient (one scalar all-reduce; padding contributes zero). Then ApplyStep (local: AdamW on the shards
  // with gradient × grad_scale, gradients cleared) or SkipStep (gradients dropped). Step = both.
  double ReduceGradients();
  void ApplyStep(double lr, double grad_scale = 1.0);
  void SkipStep();
  void Step(double lr);

  // "adam_exp_avg.<b>", "adam_exp_avg_sq.<b>", "adam_master.<b>" (16-bit only), "adam_step" (int64 [1]).
  // Shapes follow the shards, so ShardedParameters' layout check covers the rank count.
  // The live tensors (no copy): write them before the next step, or clone them.
  std::map<std::string, at::Tensor> StateTensors() const;
  // Collective: fails on every rank, changing nothing, when any rank's tensors are missing or misfit.
  absl::Status LoadStateTensors(const std::map<std::string, at::Tensor>& tensors);

  int64_t step() const { return step_; }

 private:
  ShardedParameters& params_;
  AdamWOptions options_;
  std::vector<at::Tensor> master_, exp_avg_, exp_avg_sq_;  // per block; master_ aliases the shard for fp32/64
  int64_t step_ = 0;
};

}  // namespace brain::distributed
