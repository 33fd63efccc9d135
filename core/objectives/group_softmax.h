// Segmented (per-group) max, log-sum-exp, softmax and argmax in fp64, local or across ranks (spec §1, §3.6).
#ifndef BRAIN_CORE_OBJECTIVES_GROUP_SOFTMAX_H_
#define BRAIN_CORE_OBJECTIVES_GROUP_SOFTMAX_H_

#include <torch/types.h>

#include <cstdint>

#include "core/objectives/group_reducer.h"

namespace brain::objectives {

// In every function: `values` is [S] fp64, `group_ids` is [S] int64 in [0, num_groups).
// Groups may be spread over ranks; `reducer` combines the per-group partials (never nullptr).

// Per-group sum of `values` [S, ...] over this rank's samples (no reduction): [G, ...]. Differentiable.
torch::Tensor GroupSum(const torch::Tensor& values, const torch::Tensor& group_ids, int64_t num_groups);

// Global per-group maximum: [G], −∞ for a group without samples anywhere. Not differentiable.
torch::Tensor GroupMax(const torch::Tensor& values, const torch::Tensor& group_ids, int64_t num_groups,
                       const GroupReducer& reducer);

// Global per-group log-sum-exp `M + log Σ exp(v − M)` given the global max M: [G] (−∞ for all −∞).
// Differentiable w.r.t. this rank's values only (the all-reduce is not part of the autograd graph).
torch::Tensor GroupLogSumExp(const torch::Tensor& values, const torch::Tensor& group_ids,
                             const torch::Tensor& group_max, const GroupReducer& reducer);

// softmax(values) within each group, for this rank's samples: [S]. Differentiable as GroupLogSumExp.
torch::Tensor GroupSoftmax(const torch::Tensor& values, const torch::Tensor& group_ids, int64_t num_groups,
                           const GroupReducer& reducer);

// One-hot (fp64) on the largest value of each group; ties go to the lowest `sample_index` (the index of
// the sample within its group, global across ranks): all-reduce MAX of v, then MIN of the index.
torch::Tensor GroupArgmaxOneHot(const torch::Tensor& values, const torch::Tensor& group_ids,
                                const torch::Tensor& sample_index, int64_t num_groups,
                                const GroupReducer& reducer);

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_GROUP_SOFTMAX_H_
