// Global sums and cross-rank group log-sum-exp.
#include "distributed/global_normalizers.h"

#include <ATen/ATen.h>

#include <limits>

namespace brain::distributed {

double GlobalSum(Communicator& comm, double local) {
  at::Tensor t = at::full({1}, local, at::kDouble);
  comm.AllReduce(t, ReduceOp::kSum);
  return t.item<double>();
}

at::Tensor GlobalGroupLogSumExp(Communicator& comm, const at::Tensor& values, const at::Tensor& group_ids,
                                int64_t num_groups) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  at::Tensor v = values.to(at::kDouble).reshape({-1});
  at::Tensor ids = group_ids.to(at::kLong).reshape({-1});
  // 1. per-group max over this rank's samples (−inf where it has none), then the global max.
  at::Tensor max = at::full({num_groups}, neg_inf, at::kDouble);
  max.scatter_reduce_(0, ids, v, "amax", /*include_self=*/true);
  comm.AllReduce(max, ReduceOp::kMax);
  // 2. Σ exp(v − M_g) locally (a group whose global max is −inf contributes nothing), then summed.
  at::Tensor shift = max.index_select(0, ids);
  at::Tensor terms = at::where(at::isinf(shift) & (shift < 0), at::zeros_like(v), at::exp(v - shift));
  at::Tensor sum = at::zeros({num_groups}, at::kDouble);
  sum.index_add_(0, ids, terms);
  comm.AllReduce(sum, ReduceOp::kSum);
  return at::where(at::isinf(max) & (max < 0), max, max + at::log(sum));
}

}  // namespace brain::distributed
