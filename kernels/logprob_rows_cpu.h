// CPU row kernels over one contiguous logits chunk: fused log-sum-exp/gather/entropy and logit gradient.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace brain::kernels::internal {

// All functions take a contiguous CPU `logits` chunk [rows, V] of fp32 or fp64, targets [rows] int64
// and contiguous 1-D outputs/inputs of the same floating dtype. Each row is processed while it sits
// in the core's cache (a 50k-vocabulary fp32 row is 200 KB), rows in parallel over LibTorch's intra-op
// threads, fp32 loops vectorised (FastExp) and compiled for AVX-512/AVX2/baseline, picked at run time.
bool RowKernelsCpuSupport(const at::Tensor& logits);

// lse[r], logprob[r] = logits[r, t_r] − lse[r] and, when `entropy` is defined, the softmax entropy.
// Ignored rows get logprob 0; their lse (and entropy) are only computed when `entropy` is defined
// (else lse is 0: callers never read it). Two passes over each row (max; sum of exp); `logits` is
// left unchanged.
void RowStatsCpu(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index, at::Tensor lse,
                 at::Tensor logprob, at::Tensor entropy);

// logits[r, j] ← grad[r]·(1[j == t_r] − exp(logits[r, j] − lse[r])) in one pass; rows that are
// ignored or have grad 0 become 0.
void LogitGradInPlaceCpu(at::Tensor& logits, const at::Tensor& lse, const at::Tensor& grad,
                         const at::Tensor& targets, int64_t ignore_index);

// Both at once, for weights known at forward time: the row statistics as RowStatsCpu, then the row
// becomes grad[r]·(onehot − softmax) reusing the exponentials stored by the sum pass (three passes
// per row, one exp per element).
void RowStatsAndGradInPlaceCpu(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index,
                               const at::Tensor& grad, at::Tensor lse, at::Tensor logprob, at::Tensor entropy);

}  // namespace brain::kernels::internal
