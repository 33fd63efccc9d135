// Segmented (grouped) log-softmax with ATen scatter ops, so the same code runs on CPU and CUDA.
#include "kernels/segmented_log_softmax.h"

#include <ATen/ATen.h>

#include <limits>

namespace brain::kernels {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

void CheckInputs(const at::Tensor& values, const at::Tensor& group_ids, const char* op) {
  TORCH_CHECK(values.dim() == 1 && group_ids.dim() == 1 && values.size(0) == group_ids.size(0), op,
              ": values and group_ids must be 1-D of equal length; got ", values.sizes(), " and ",
              group_ids.sizes());
  TORCH_CHECK(values.scalar_type() == at::kDouble || values.scalar_type() == at::kFloat, op,
              ": values must be fp64 or fp32, got ", values.scalar_type());
  TORCH_CHECK(group_ids.scalar_type() == at::kLong, op, ": group_ids must be int64, got ",
              group_ids.scalar_type());
  TORCH_CHECK(values.device() == group_ids.device(), op, ": values and group_ids on different devices");
}

// Resolves num_groups = −1 and checks every id is in [0, num_groups) (one small host sync).
int64_t ResolveGroupCount(const at::Tensor& group_ids, int64_t num_groups, const char* op) {
  if (group_ids.numel() == 0) return std::max<int64_t>(num_groups, 0);
  const int64_t min_id = group_ids.min().item<int64_t>();
  const int64_t max_id = group_ids.max().item<int64_t>();
  TORCH_CHECK(min_id >= 0, op, ": group ids must be >= 0, found ", min_id);
  if (num_groups < 0) return max_id + 1;
  TORCH_CHECK(max_id < num_groups, op, ": group id ", max_id, " >= num_groups ", num_groups);
  return num_groups;
}

// The max to subtract inside exp(): the group max, or 0 for groups whose max is −inf (every member is
// −inf there, so exp(v − 0) = 0 and no NaN from −inf − (−inf)).
at::Tensor SafeShift(const at::Tensor& group_max) {
  return at::where(at::isneginf(group_max), at::zeros({}, group_max.options()), group_max);
}

}  // namespace

at::Tensor SegmentedMax(const at::Tensor& values, const at::Tensor& group_ids, int64_t num_groups) {
  CheckInputs(values, group_ids, "SegmentedMax");
  const int64_t groups = ResolveGroupCount(group_ids, num_groups, "SegmentedMax");
  at::Tensor out = at::full({groups}, kNegInf, values.options());
  return out.scatter_reduce_(0, group_ids, values, "amax", /*include_self=*/true);
}

at::Tensor SegmentedSumExp(const at::Tensor& values, const at::Tensor& group_ids,
                           const at::Tensor& group_max) {
  CheckInputs(values, group_ids, "SegmentedSumExp");
  TORCH_CHECK(group_max.dim() == 1 && group_max.scalar_type() == values.scalar_type(),
              "SegmentedSumExp: group_max must be 1-D with the dtype of values");
  ResolveGroupCount(group_ids, group_max.size(0), "SegmentedSumExp");
  const at::Tensor shifted = at::exp(values - SafeShift(group_max).index_select(0, group_ids));
  return at::zeros_like(group_max).index_add_(0, group_ids, shifted);
}

at::Tensor GroupLogSumExp(const at::Tensor& group_max, const at::Tensor& group_sum_exp) {
  TORCH_CHECK(group_max.sizes() == group_sum_exp.sizes(), "GroupLogSumExp: max ", group_max.sizes(),
              " and sum-exp ", group_sum_exp.sizes(), " differ in shape");
  const at::Tensor lse = SafeShift(group_max) + at::log(group_sum_exp);
  return at::where(group_sum_exp > 0, lse, at::full({}, kNegInf, group_max.options()));
}

at::Tensor SegmentedLogSoftmaxFromStats(const at::Tensor& values, const at::Tensor& group_ids,
                                        const at::Tensor& group_max, const at::Tensor& group_sum_exp) {
  CheckInputs(values, group_ids, "SegmentedLogSoftmaxFromStats");
  ResolveGroupCount(group_ids, group_max.size(0), "SegmentedLogSoftmaxFromStats");
  const at::Tensor lse = GroupLogSumExp(group_max, group_sum_exp).index_select(0, group_ids);
  return at::where(at::isneginf(lse), lse, values - lse);
}

at::Tensor SegmentedLogSoftmax(const at::Tensor& values, const at::Tensor& group_ids, int64_t num_groups) {
  CheckInputs(values, group_ids, "SegmentedLogSoftmax");
  const int64_t groups = ResolveGroupCount(group_ids, num_groups, "SegmentedLogSoftmax");
  const at::Tensor group_max = SegmentedMax(values, group_ids, groups);
  return SegmentedLogSoftmaxFromStats(values, group_ids, group_max,
                                      SegmentedSumExp(values, group_ids, group_max));
}

}  // namespace brain::kernels
