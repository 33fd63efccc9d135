// Global normalisers: counts and per-group (max, sum-exp) statistics summed over all ranks.
#pragma once

#include <ATen/core/Tensor.h>

#include "distributed/communicator.h"

namespace brain::distributed {

// Σ over ranks of `local` (e.g. tokens, pairs or groups in this rank's micro-batches): the loss
// normaliser that makes the loss independent of world size (spec §1). Exact for counts below 2^53.
double GlobalSum(Communicator& comm, double local);

// Cross-rank log-sum-exp per group for values spread over ranks (spec §3.6). `values[M]` (fp64) with
// `group_ids[M]` in [0, num_groups): returns LSE_g [num_groups] (fp64, −inf for a group with no finite
// value anywhere), computed with one MAX and one SUM all-reduce.
at::Tensor GlobalGroupLogSumExp(Communicator& comm, const at::Tensor& values, const at::Tensor& group_ids,
                                int64_t num_groups);

}  // namespace brain::distributed
