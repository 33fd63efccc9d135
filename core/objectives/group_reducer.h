// GroupReducer: the cross-rank reductions (MAX, SUM) of per-group fp64 tensors, plus the one-rank identity.
#ifndef BRAIN_CORE_OBJECTIVES_GROUP_REDUCER_H_
#define BRAIN_CORE_OBJECTIVES_GROUP_REDUCER_H_

#include <torch/types.h>

namespace brain::objectives {

// All-reduces per-group tensors across the ranks that share groups (BRAIn SAMPLE_PARALLEL, spec §3.6).
// Every rank must make the same calls in the same order with tensors of the same shape. Inputs are fp64
// and are not modified; the result is a new tensor. The MPI implementation lives in distributed/.
class GroupReducer {
 public:
  virtual ~GroupReducer() = default;
  virtual torch::Tensor AllReduceMax(const torch::Tensor& values) const = 0;
  virtual torch::Tensor AllReduceSum(const torch::Tensor& values) const = 0;
};

// One rank: every reduction is the identity.
class IdentityGroupReducer final : public GroupReducer {
 public:
  torch::Tensor AllReduceMax(const torch::Tensor& values) const override { return values; }
  torch::Tensor AllReduceSum(const torch::Tensor& values) const override { return values; }
};

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_GROUP_REDUCER_H_
