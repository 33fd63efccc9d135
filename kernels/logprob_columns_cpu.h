// CPU kernels over one logits chunk stored vocab-major ([V, rows]): log-sum-exp/gather/entropy per
// column and the logit gradient.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace brain::kernels::internal {

// Why vocab-major on the CPU: MKL computes W·hᵀ ([V, d]·[d, rows]) about 20 % faster than h·Wᵀ, the
// same product laid out [rows, V], and the gradient products stay as fast with the transposed
// operand (Gᵀ·h for grad_weight, (Gᵀ)ᵀ·W for grad_hidden). The fused op does this matmul twice (forward
// and recompute), so the layout is most of its gap to the naive path.
//
// All functions take a contiguous CPU `logits_t` [V, rows] of fp32 or fp64, targets [rows] int64 and
// contiguous 1-D per-column vectors of the logits dtype. The columns are split over LibTorch's
// intra-op threads; each thread walks the vocabulary in blocks that stay in cache, with an online
// (max-rescaled) sum, so the buffer is read once per call. fp32 loops are vectorised along the
// columns (FastExp) and compiled for AVX-512/AVX2/baseline, picked at run time.
bool ColumnKernelsCpuSupport(const at::Tensor& logits_t);

// Online per-column summary of the logits seen so far, relative to each column's running max:
// sum = Σ exp(z − max), wsum = Σ exp(z − max)·(z − max), and the target's logit once its row was seen.
// All [cols] tensors of the logits dtype.
struct ColumnSummary {
  at::Tensor max, sum, wsum, target_logit;
};
ColumnSummary EmptyColumnSummary(int64_t cols, at::ScalarType dtype);

// Folds a block of vocabulary rows [first_row, first_row + rows) (`logits_t` [rows, cols]) into the
// summary; wsum only when `with_entropy`. `logits_t` is left unchanged.
void AccumulateColumnsCpu(const at::Tensor& logits_t, int64_t first_row, const at::Tensor& targets,
                          bool with_entropy, ColumnSummary& summary);

// lse[c], logprob[c] = target_logit[c] − lse[c] (0 for ignored columns) and, when `entropy` is
// defined, the softmax entropy, from a summary of the whole vocabulary. A column with no finite logit
// gets lse −inf (NaN if it holds a NaN), logprob NaN unless ignored, entropy 0.
void FinishColumns(const ColumnSummary& summary, const at::Tensor& targets, int64_t ignore_index, at::Tensor lse,
                   at::Tensor logprob, at::Tensor entropy);

// logits_t[j, c] ← grad[c]·(1[first_row + j == t_c] − exp(logits_t[j, c] − lse[c])) in one pass, where
// the chunk holds vocabulary rows [first_row, first_row + rows) (all of them by default); columns that
// are ignored, have grad 0 or a non-finite lse become 0.
void ColumnLogitGradInPlaceCpu(at::Tensor& logits_t, const at::Tensor& lse, const at::Tensor& grad,
                               const at::Tensor& targets, int64_t ignore_index, int64_t first_row = 0);

}  // namespace brain::kernels::internal
