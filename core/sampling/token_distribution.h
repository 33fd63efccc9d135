// The sampling distribution actually used for a token (stop masking, temperature, top-k, top-p) and draws.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/sampling/sampling_options.h"

namespace brain::sampling {

// Log-probabilities [B, V] (fp32; -inf outside the support) of the distribution tokens are drawn from:
//   1. rows with ban_stop[b] (fewer than min_new_tokens drawn) get logit -inf at every stop id;
//   2. temperature 0: a point mass at the argmax (log-prob 0 there); else logits / temperature;
//   3. top_k > 0: keep logits >= the k-th largest (ties at the k-th are all kept);
//   4. top_p < 1: on the renormalised result, keep the smallest set of most likely tokens whose mass
//      reaches top_p (every token as likely as the least likely kept one is kept too), renormalise.
// logits: [B, V] any float dtype; ban_stop: [B] bool or undefined; stop_ids: the stop/EOS token ids.
torch::Tensor SamplingLogProbs(const torch::Tensor& logits, const SamplingOptions& options,
                               const std::vector<int64_t>& stop_ids, const torch::Tensor& ban_stop = {});

// One token per row by inversion: the first id (in vocabulary order) whose cumulative probability
// exceeds uniforms[b] · total. logprobs [B, V] from SamplingLogProbs; uniforms [B] fp64 in [0, 1).
// Returns [B] int64. A given uniform always yields the same token for the same distribution.
torch::Tensor DrawTokens(const torch::Tensor& logprobs, const torch::Tensor& uniforms);

struct DrawnTokens {
  torch::Tensor tokens;  // [B] int64
  torch::Tensor logq;    // [B] fp32: log-probability of each token under the distribution drawn from
};

// SamplingLogProbs + DrawTokens + the drawn tokens' log-probs in one call. On CPU without top-k/top-p
// it runs a fused per-row loop (max, normaliser, inversion; no [B, V] temporaries) that draws from the
// same distribution by the same inversion rule (results may differ from the tensor path only when a
// uniform falls within rounding error of a CDF boundary).
DrawnTokens SampleTokens(const torch::Tensor& logits, const SamplingOptions& options,
                         const std::vector<int64_t>& stop_ids, const torch::Tensor& ban_stop,
                         const torch::Tensor& uniforms);

}  // namespace brain::sampling
