// Fused weighted sum of token log-probabilities whose per-token weights are known at forward time.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "kernels/weighted_token_logprobs.h"

namespace brain::kernels {

struct WeightedLogprobSumResult {
  at::Tensor loss;     // scalar Σ_i token_weights[i]·logprob[i]; differentiable w.r.t. hidden and weight
  at::Tensor logprob;  // [N], detached (metrics)
  at::Tensor entropy;  // [N] when options.compute_entropy, detached; else undefined
};

// loss = Σ_i token_weights[i]·log softmax(hidden[i]·weightᵀ)[targets[i]] (ignored rows contribute 0).
// Same inputs, chunking, dtypes and numerics as WeightedTokenLogprobs, but because the weights are
// known now the gradients are computed during the forward, chunk by chunk, while each chunk's logits
// are in hand: grad_hidden [N, d] and grad_weight [V, d] are kept in fp32 (fp64 for fp64 inputs) and
// the backward only scales them by the scalar grad_output. That is 3 [N×d×V] matmuls, as many as the
// unfused path, instead of WeightedTokenLogprobs' 4 (it recomputes the logits in the backward).
// token_weights [N] (any floating dtype, positive, negative or zero) may require grad: its gradient
// is grad_output·logprob. The gradients are only computed for inputs that require grad while grad
// mode is on; the stored gradients cost N·d + V·d working-dtype values until the backward runs.
WeightedLogprobSumResult WeightedLogprobSum(const at::Tensor& hidden, const at::Tensor& weight,
                                            const at::Tensor& targets, const at::Tensor& token_weights,
                                            int64_t ignore_index = kDefaultIgnoreIndex,
                                            const WeightedLogprobOptions& options = {});

}  // namespace brain::kernels
