// Global sums of unit counts.
#include "distributed/global_normalizers.h"

#include <ATen/ATen.h>

namespace brain::distributed {

double GlobalSum(Communicator& comm, double local) {
  at::Tensor t = at::full({1}, local, at::kDouble);
  comm.AllReduce(t, ReduceOp::kSum);
  return t.item<double>();
}

}  // namespace brain::distributed
