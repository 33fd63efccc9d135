// Per-chunk steps of the fused weighted log-likelihood (logits, row statistics, logit gradient), by device.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace brain::kernels::internal {

// Logits [c, V] of one chunk of hidden rows, in the working dtype: fp64 for fp64 inputs, else fp32
// (half/bf16 products are widened; on CUDA cuBLAS writes fp32 directly).
at::Tensor ChunkLogits(const at::Tensor& hidden_chunk, const at::Tensor& weight);

// Row statistics of a logits chunk: lse[r], logprob[r] = logits[r, t_r] − lse[r] (0 for ignored rows)
// and, when `entropy` is defined, the softmax entropy. Outputs are views written in place; `logits`
// may be overwritten.
void ChunkRowStats(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index, at::Tensor lse,
                   at::Tensor logprob, at::Tensor entropy);

// Replaces the logits chunk by ∂(Σ_r grad[r]·logprob[r])/∂logits, zero on ignored rows.
void ChunkLogitGradInPlace(at::Tensor& logits, const at::Tensor& lse, const at::Tensor& grad,
                           const at::Tensor& targets, int64_t ignore_index);

// Device-generic implementations with plain ATen ops (the CPU path; also fp64 on CUDA).
void ChunkRowStatsAten(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index, at::Tensor lse,
                       at::Tensor logprob, at::Tensor entropy);
void ChunkLogitGradInPlaceAten(at::Tensor& logits, const at::Tensor& lse, const at::Tensor& grad,
                               const at::Tensor& targets, int64_t ignore_index);

#ifdef BRAIN_WITH_CUDA
// fp32 CUDA implementations: cuBLAS matmul through ATen, fused kernels from kernels/cuda/.
at::Tensor ChunkLogitsCuda(const at::Tensor& hidden_chunk, const at::Tensor& weight);
void ChunkRowStatsCuda(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index,
                       at::Tensor lse, at::Tensor logprob, at::Tensor entropy);
void ChunkLogitGradInPlaceCuda(at::Tensor& logits, const at::Tensor& lse, const at::Tensor& grad,
                               const at::Tensor& targets, int64_t ignore_index);
#endif

}  // namespace brain::kernels::internal
