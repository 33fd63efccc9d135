// Launchers of the fused per-row kernels over one fp32 logits chunk (raw pointers + stream, no torch).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace brain::kernels::cuda {

// For each of `rows` rows of the row-major [rows, cols] `logits`: lse[r] = log Σ_j exp(logits[r, j]);
// logprob[r] = logits[r, targets[r]] − lse[r], or 0 when targets[r] == ignore_index; and, when
// `entropy` is not null, entropy[r] = −Σ_j p_j log p_j. One block per row, online log-sum-exp.
cudaError_t LaunchRowLogSumExp(const float* logits, int64_t rows, int64_t cols, const int64_t* targets,
                               int64_t ignore_index, float* lse, float* logprob, float* entropy,
                               cudaStream_t stream);

// Overwrites the logits chunk with the gradient of Σ_r grad[r]·logprob[r] with respect to it:
// logits[r, j] ← grad[r]·(1[j == targets[r]] − exp(logits[r, j] − lse[r])); rows whose target is
// ignore_index become 0.
cudaError_t LaunchLogitGradInPlace(float* logits, int64_t rows, int64_t cols, const float* lse,
                                   const float* grad, const int64_t* targets, int64_t ignore_index,
                                   cudaStream_t stream);

}  // namespace brain::kernels::cuda
