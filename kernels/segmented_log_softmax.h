// Log-softmax within groups of a flat vector (α̂/β̂ normalisation), whole or split across ranks.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace brain::kernels {

// All functions take values [M] (fp64; fp32 also accepted, e.g. on GPU) and group_ids [M] int64 in
// [0, num_groups) on the same device; num_groups = −1 means max(group_ids) + 1. Groups with no member
// and groups whose members are all −inf are allowed: their max is −inf, their sum-exp 0, their
// log-sum-exp −inf, and the log-softmax of their members is −inf (no probability mass). +inf and NaN
// values are not supported.

// out[i] = values[i] − log Σ_{j: g_j = g_i} exp(values[j]), in one call.
at::Tensor SegmentedLogSoftmax(const at::Tensor& values, const at::Tensor& group_ids,
                               int64_t num_groups = -1);

// Split form for groups spread over ranks (spec §3.6). Each rank calls
//   m = SegmentedMax(v, ids, G);            M = all_reduce(m, MAX)
//   s = SegmentedSumExp(v, ids, M);         S = all_reduce(s, SUM)
//   out = SegmentedLogSoftmaxFromStats(v, ids, M, S)
// and obtains exactly its share of the single-call result.

// Per-group max over the local values: [num_groups], −inf where the group has no local member.
at::Tensor SegmentedMax(const at::Tensor& values, const at::Tensor& group_ids, int64_t num_groups = -1);

// Per-group Σ exp(v_i − group_max[g_i]) over the local values, relative to the given (global) max:
// [num_groups], 0 where the group has no local member or its max is −inf.
at::Tensor SegmentedSumExp(const at::Tensor& values, const at::Tensor& group_ids,
                           const at::Tensor& group_max);

// Per-group log-sum-exp M_g + log S_g (−inf where S_g = 0).
at::Tensor GroupLogSumExp(const at::Tensor& group_max, const at::Tensor& group_sum_exp);

// out[i] = values[i] − LSE_{g_i} from the global per-group (max, sum-exp).
at::Tensor SegmentedLogSoftmaxFromStats(const at::Tensor& values, const at::Tensor& group_ids,
                                        const at::Tensor& group_max, const at::Tensor& group_sum_exp);

}  // namespace brain::kernels
