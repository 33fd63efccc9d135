// Per-chunk steps of the fused weighted log-likelihood (logits, row statistics, logit gradient), by device.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace brain::kernels::internal {

// fp64 for fp64 inputs, else fp32: the dtype of logits chunks, row statistics and accumulators.
at::ScalarType WorkingType(at::ScalarType input);

// Checks every target (in [0, V) or ignore_index; `op` names the caller in the error) with one host
// copy and returns, per chunk of `chunk_rows` rows, whether it holds a row that is not ignored.
std::vector<bool> ActiveChunks(const at::Tensor& targets, int64_t vocab_size, int64_t ignore_index,
                               int64_t chunk_rows, const char* op);

// Shape/dtype/device checks shared by the fused ops (`op` names the caller in the error), and the
// resolved chunk size (options' chunk_rows, 0 = AutoChunkRows, capped at N, at least 1).
void CheckLogprobInputs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                        int64_t chunk_rows, const char* op);
int64_t ResolveChunkRows(int64_t requested, const at::Tensor& hidden, const at::Tensor& weight);

// Logits [c, V] of one chunk of hidden rows, in the working dtype: fp64 for fp64 inputs, else fp32
// (half/bf16 products are widened; on CUDA cuBLAS writes fp32 directly).
at::Tensor ChunkLogits(const at::Tensor& hidden_chunk, const at::Tensor& weight);

// The same logits written into the first rows of `buffer` (a [capacity_rows, V] working-dtype scratch
// allocated on first use and reused by every chunk) when the matmul can write the working dtype
// directly (fp32/fp64 inputs); otherwise a fresh ChunkLogits tensor. Returns the [c, V] logits.
at::Tensor ChunkLogitsInto(const at::Tensor& hidden_chunk, const at::Tensor& weight, int64_t capacity_rows,
                           at::Tensor& buffer);

// Whether these inputs take the vocab-major CPU path (vocab_block_cpu.h): fp32 and fp64 on the CPU.
// Other inputs use the row-major [c, V] chunk steps below.
bool UseVocabMajorChunks(const at::Tensor& hidden);

// Row statistics of a logits chunk: lse[r], logprob[r] = logits[r, t_r] − lse[r] (0 for ignored rows)
// and, when `entropy` is defined, the softmax entropy. Outputs are views written in place; `logits`
// may be overwritten.
void ChunkRowStats(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index, at::Tensor lse,
                   at::Tensor logprob, at::Tensor entropy);

// Replaces the logits chunk by ∂(Σ_r grad[r]·logprob[r])/∂logits, zero on ignored rows.
void ChunkLogitGradInPlace(at::Tensor& logits, const at::Tensor& lse, const at::Tensor& grad,
                           const at::Tensor& targets, int64_t ignore_index);

// ChunkRowStats followed by ChunkLogitGradInPlace with `grad` (weights known at forward time); on the
// CPU one fused pass set per row (RowStatsAndGradInPlaceCpu).
void ChunkRowStatsAndGradInPlace(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index,
                                 const at::Tensor& grad, at::Tensor lse, at::Tensor logprob, at::Tensor entropy);

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
