// Naive reference implementations of the fused ops (full logits, plain LibTorch ops) for tests/benchmarks.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "kernels/weighted_token_logprobs.h"

namespace brain::kernels {

// Same contract as WeightedTokenLogprobs, computed the obvious way: logits = hidden·weightᵀ [N, V]
// (fp32, or fp64 for fp64 inputs), log_softmax, gather. Differentiable through ordinary autograd;
// memory O(N·V).
TokenLogprobs NaiveWeightedTokenLogprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                         const at::Tensor& targets,
                                         int64_t ignore_index = kDefaultIgnoreIndex,
                                         bool compute_entropy = false);

// Per-group loop: for each group id g, log_softmax over the members of g. −inf for all-(−inf) groups.
at::Tensor NaiveSegmentedLogSoftmax(const at::Tensor& values, const at::Tensor& group_ids);

}  // namespace brain::kernels
