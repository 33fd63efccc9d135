// Segmented (per-group) max, log-sum-exp, softmax and argmax in fp64, local or across ranks.
#include "core/objectives/group_softmax.h"

#include <torch/torch.h>

#include <limits>
#include <vector>

namespace brain::objectives {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Per-group maximum over this rank's samples (−∞ where it has none).
torch::Tensor LocalGroupMax(const torch::Tensor& values, const torch::Tensor& group_ids, int64_t num_groups) {
  auto init = torch::full({num_groups}, -kInf, values.options());
  return init.scatter_reduce(0, group_ids, values.detach(), "amax", /*include_self=*/true);
}

}  // namespace

torch::Tensor GroupSum(const torch::Tensor& values, const torch::Tensor& group_ids, int64_t num_groups) {
  std::vector<int64_t> shape = values.sizes().vec();
  shape[0] = num_groups;
  return torch::zeros(shape, values.options()).index_add(0, group_ids, values);
}

torch::Tensor GroupMax(const torch::Tensor& values, const torch::Tensor& group_ids, int64_t num_groups,
                       const GroupReducer& reducer) {
  return reducer.AllReduceMax(LocalGroupMax(values, group_ids, num_groups));
}

torch::Tensor GroupLogSumExp(const torch::Tensor& values, const torch::Tensor& group_ids,
                             const torch::Tensor& group_max, const GroupReducer& reducer) {
  // A group whose values are all −∞ has M = −∞; shift by 0 there so that v − M is never NaN.
  const torch::Tensor shift =
      torch::where(torch::isfinite(group_max), group_max, torch::zeros_like(group_max));
  const torch::Tensor local =
      GroupSum(torch::exp(values - shift.index_select(0, group_ids)), group_ids, group_max.size(0));
  // Σ over ranks of the local sums; the reduced value carries the local part's gradient only.
  const torch::Tensor total = reducer.AllReduceSum(local.detach());
  const torch::Tensor sum = local + (total - local.detach());
  return shift + torch::log(sum);
}

torch::Tensor GroupSoftmax(const torch::Tensor& values, const torch::Tensor& group_ids, int64_t num_groups,
                           const GroupReducer& reducer) {
  const torch::Tensor m = GroupMax(values, group_ids, num_groups, reducer);
  const torch::Tensor lse = GroupLogSumExp(values, group_ids, m, reducer);
  return torch::exp(values - lse.index_select(0, group_ids));
}

torch::Tensor GroupArgmaxOneHot(const torch::Tensor& values, const torch::Tensor& group_ids,
                                const torch::Tensor& sample_index, int64_t num_groups,
                                const GroupReducer& reducer) {
  const torch::Tensor v = values.detach();
  const torch::Tensor m = GroupMax(v, group_ids, num_groups, reducer);
  const torch::Tensor index = sample_index.to(torch::kFloat64);
  // MIN of the index attaining the max = −MAX of −index (so one reduction kind suffices).
  const torch::Tensor candidate =
      torch::where(v == m.index_select(0, group_ids), -index, torch::full_like(index, -kInf));
  const torch::Tensor winner = -GroupMax(candidate, group_ids, num_groups, reducer);
  return (index == winner.index_select(0, group_ids)).to(torch::kFloat64);
}

}  // namespace brain::objectives
