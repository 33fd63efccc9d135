// CommunicatorGroupReducer: the objectives' cross-rank group reductions over a distributed Communicator.
#ifndef BRAIN_CORE_OBJECTIVES_COMMUNICATOR_GROUP_REDUCER_H_
#define BRAIN_CORE_OBJECTIVES_COMMUNICATOR_GROUP_REDUCER_H_

#include "core/objectives/group_reducer.h"
#include "distributed/communicator.h"

namespace brain::objectives {

// MAX / SUM all-reduces of per-group fp64 tensors over the ranks of `comm` (BRAIn SAMPLE_PARALLEL).
class CommunicatorGroupReducer final : public GroupReducer {
 public:
  explicit CommunicatorGroupReducer(distributed::Communicator& comm) : comm_(comm) {}
  torch::Tensor AllReduceMax(const torch::Tensor& values) const override;
  torch::Tensor AllReduceSum(const torch::Tensor& values) const override;

 private:
  distributed::Communicator& comm_;
};

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_COMMUNICATOR_GROUP_REDUCER_H_
