// ShardedAdamW (sharding stage 1): AdamW whose moments live only on the rank that owns each slice of the
// flattened parameters; gradients are reduce-scattered, updated slices all-gathered.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "distributed/adamw_update.h"
#include "distributed/communicator.h"

namespace brain::distributed {

// The factor torch.nn.utils.clip_grad_norm_ multiplies gradients by: min(1, max_norm / (norm + 1e-6));
// 1 when max_norm <= 0 (clipping off).
double ClipCoefficient(double grad_norm, double max_norm);

class ShardedAdamW {
 public:
  // `params` share dtype and device. Rank r owns EvenSplit(total numel, size)[r] consecutive elements of
  // the parameters flattened in order; its moments (and fp32 master copy for 16-bit params) cover only
  // that slice, so optimiser memory per rank falls as 1/size. fp32/fp64 parameters are their own master
  // copy (updated in place through views), and on one rank nothing is gathered.
  ShardedAdamW(std::vector<at::Tensor> params, Communicator& comm, AdamWOptions options = {});

  // One AdamW step with learning rate `lr`: ReduceGradients without the norm, then ApplyStep(lr, 1).
  // With `grads_reduced` false the ranks' local .grad() are SUM-reduce-scattered here (each rank's loss
  // is its share of the global loss); with true they already hold the all-rank sum (e.g. from
  // GradientSynchronizer) and only the owned slice is read. Parameters without a gradient count as zero
  // gradient. The parameters' .grad are consumed (reset) by the step, so memory never holds two copies.
  // Afterwards every rank holds the same updated parameters.
  void Step(double lr, bool grads_reduced = false);

  // The split step, for clipping and outlier skipping. ReduceGradients (collective) reduce-scatters (or,
  // with `grads_reduced`, reads) this rank's owned gradient slice, keeps it, and returns the global L2
  // norm of the full summed gradient (one extra all-reduce of a scalar; the same value on every rank).
  // Then exactly one of: ApplyStep (collective) — the AdamW update with gradient × grad_scale, then the
  // all-gather of the parameters; or SkipStep — drops the kept gradient, no state change, no collective.
  double ReduceGradients(bool grads_reduced = false);
  void ApplyStep(double lr, double grad_scale = 1.0);
  void SkipStep();

  // This rank's optimiser state for checkpoints: "exp_avg", "exp_avg_sq", "master" (16-bit parameters
  // only: the owned slice in fp32, authoritative on resume), "step" (int64 [1]) and "shard" (int64 [4]:
  // owned offset, owned numel, total numel, world size). LoadStateTensors (collective) restores it and,
  // when the state holds master slices, sets the parameters from them (fp32/fp64 parameters otherwise
  // keep the values they were restored with, from the model weights); it fails on every rank, changing
  // nothing, when on any rank a key is missing or the shard layout, shape or dtype differs, e.g. when
  // the rank count changed.
  // StateTensors returns the live tensors (no copy): write them before the next step, or clone them.
  std::map<std::string, at::Tensor> StateTensors() const;
  absl::Status LoadStateTensors(const std::map<std::string, at::Tensor>& tensors);

  int64_t owned_numel() const { return owned_numel_; }
  int64_t owned_offset() const { return owned_offset_; }
  int64_t step() const { return step_; }

 private:
  // The parameters' gradients flattened into one buffer; each .grad is released once copied.
  at::Tensor TakeFlatGradients();
  // AdamW on `values`, the owned-slice elements [offset, offset + numel) of the moments, with `grad`.
  void Update(at::Tensor& values, int64_t offset, const at::Tensor& grad, const AdamWScalars& scalars);
  // All-gathers the owned slices into every rank's parameters (nothing to do on one rank in place).
  void ShareOwnedSlices();
  void KeepOwnedGradient(bool grads_reduced);
  absl::Status ValidateState(const std::map<std::string, at::Tensor>& tensors) const;

  std::vector<at::Tensor> params_;
  Communicator& comm_;
  AdamWOptions options_;
  int64_t total_numel_ = 0;
  int64_t owned_offset_ = 0;
  int64_t owned_numel_ = 0;
  // A part of one parameter inside the owned slice: a flat view of it and its offset in the slice.
  struct OwnedSegment {
    at::Tensor values;
    int64_t offset;
    int param;  // index into params_
  };
  std::vector<OwnedSegment> owned_segments_;  // fp32/fp64 parameters: the owned slice, in place
  at::Tensor master_;                         // 16-bit (or non-contiguous) parameters: a fp32 copy instead
  at::Tensor exp_avg_, exp_avg_sq_;           // [owned_numel], fp32 (fp64 for fp64 params)
  // The owned reduced gradient between Reduce and Apply/Skip, one tensor per update target (master_,
  // or each owned segment): on one rank in place, the parameters' own gradients.
  std::vector<at::Tensor> owned_grads_;
  int64_t step_ = 0;
};

}  // namespace brain::distributed
