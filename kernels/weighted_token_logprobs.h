// Fused, chunked per-token log-probabilities of given targets under a linear LM head, with autograd.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace brain::kernels {

// PyTorch's conventional "no target here" label.
inline constexpr int64_t kDefaultIgnoreIndex = -100;

struct WeightedLogprobOptions {
  // Token rows per chunk; 0 picks AutoChunkRows(). Peak extra memory is about two [chunk_rows, V]
  // fp32 buffers plus the fp32 grad_weight accumulator.
  int64_t chunk_rows = 0;
  // Also return the softmax entropy per token (a metric; it carries no gradient).
  bool compute_entropy = false;
};

struct TokenLogprobs {
  at::Tensor logprob;  // [N], differentiable w.r.t. hidden and weight
  at::Tensor entropy;  // [N] when requested, else undefined
};

// Chunk rows so that a chunk's logits [rows, V] hold about as many elements as the hidden states
// [N, d], but at least kMinAutoChunkRows (small chunks make the matmuls inefficient) and at most N.
inline constexpr int64_t kMinAutoChunkRows = 256;
int64_t AutoChunkRows(int64_t num_tokens, int64_t hidden_dim, int64_t vocab_size);

// logprob[i] = log softmax(hidden[i] · weightᵀ)[targets[i]], 0 where targets[i] == ignore_index.
// hidden [N, d] and weight [V, d] share a floating dtype (fp32, bf16, fp16 or fp64) and device;
// targets [N] int64. The result is fp32 (fp64 for fp64 inputs). The [N, V] logits are never
// materialised: the forward keeps only the per-row log-sum-exp, and the backward, which accepts any
// per-token grad_logprob (the per-token gradient weights), recomputes each chunk's logits and
// accumulates grad_weight in fp32 (fp64 for fp64 inputs) across chunks. Not twice differentiable.
// CPU: LibTorch ops per chunk. CUDA: cuBLAS matmuls plus fused kernels (kernels/cuda/).
TokenLogprobs WeightedTokenLogprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                    const at::Tensor& targets, int64_t ignore_index = kDefaultIgnoreIndex,
                                    const WeightedLogprobOptions& options = {});

}  // namespace brain::kernels
