// Group reductions through a Communicator (inputs are left untouched: the result is a new tensor).
#include "core/objectives/communicator_group_reducer.h"

namespace brain::objectives {

torch::Tensor CommunicatorGroupReducer::AllReduceMax(const torch::Tensor& values) const {
  torch::Tensor out = values.detach().clone();
  comm_.AllReduce(out, distributed::ReduceOp::kMax);
  return out;
}

torch::Tensor CommunicatorGroupReducer::AllReduceSum(const torch::Tensor& values) const {
  torch::Tensor out = values.detach().clone();
  comm_.AllReduce(out, distributed::ReduceOp::kSum);
  return out;
}

}  // namespace brain::objectives
