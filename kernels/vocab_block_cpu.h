// WeightedTokenLogprobs on the CPU: the vocabulary walked in blocks, over the tokens that are not ignored.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace brain::kernels::internal {

// fp32/fp64 CPU inputs take this path (see UseVocabMajorChunks).
//
// Only the tokens that are not ignored take part: their hidden rows are gathered once (h [live, d]),
// so prompt tokens cost no matmul (all tokens when the entropy is wanted: it is defined for ignored
// tokens too). The vocabulary is walked in blocks of B rows, with the block's
// logits laid out vocab-major ([B, live] = W_b·hᵀ, which MKL computes ~20 % faster than h·W_bᵀ):
// * forward: each block is folded into an online per-token summary (max, Σexp, entropy term, target
//   logit), giving lse and logprob;
// * backward: each block's logits are recomputed (never stored) and turned in place into
//   g·(onehot − softmax)ᵀ; then grad_weight[block] = G_bᵀ·h is written once (inner dimension: every
//   live token) and grad_hidden += G_b·W_b.
// Blocking the tokens instead would re-read and re-write the whole [V, d] grad_weight once per token
// chunk (0.5 GB per chunk at V = 128256, d = 1024); this re-touches only the small [live, d]
// grad_hidden per block. B = buffer_elements / live: one scratch of the forward's chunk size.
// Both passes issue the same matmuls on the same operands, so the recomputed logits are bitwise the
// forward's, which keeps exp(z − lse) exact relative to the forward even at |z| ~ 1e4.
void VocabBlockForwardCpu(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                          int64_t ignore_index, int64_t buffer_elements, at::Tensor lse, at::Tensor logprob,
                          at::Tensor entropy);

struct LogprobGrads {
  at::Tensor hidden;  // [N, d] or undefined
  at::Tensor weight;  // [V, d] or undefined
};

// Gradients of Σ_i grad[i]·logprob[i], given the forward's lse, buffer_elements and token set
// (`all_tokens`: the forward computed the entropy).
LogprobGrads VocabBlockBackwardCpu(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                   const at::Tensor& lse, const at::Tensor& grad, int64_t ignore_index,
                                   int64_t buffer_elements, bool all_tokens, bool need_hidden, bool need_weight);

}  // namespace brain::kernels::internal
