// Teacher forcing: pack (prompt, response) pairs, response token log-probs (autograd-capable), rewards.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/model/causal_lm.h"
#include "core/sampling/sampling_options.h"

namespace brain::sampling {

using TokenIds = std::vector<int64_t>;

// Right-padded batch of prompt + response sequences. Position t predicts token t + 1; `targets` holds
// that token only where it belongs to the response (the last prompt position predicts the first
// response token), kIgnoreIndex elsewhere; `response_mask` is 1 exactly where `targets` is set.
struct PackedSequences {
  static constexpr int64_t kIgnoreIndex = -100;
  torch::Tensor input_ids;       // [B, L] int64 (pad_id after each row's end)
  torch::Tensor attention_mask;  // [B, L] int64
  torch::Tensor targets;         // [B, L] int64
  torch::Tensor response_mask;   // [B, L] fp32
  std::vector<int64_t> prompt_lengths;
  std::vector<int64_t> response_lengths;
};

// Prompts must be non-empty. L = the longest prompt + response (at least 1).
PackedSequences PackPromptResponses(const std::vector<TokenIds>& prompts, const std::vector<TokenIds>& responses,
                                    int64_t pad_id = 0, torch::Device device = torch::kCPU);

// [B, L] fp32: log p(targets[b, t] | input_ids[b, <=t]) under the model (softmax of the LM head, no
// temperature), 0 where there is no response target. Uses the fused kernels::WeightedTokenLogprobs
// on model.Forward hidden states, so it is differentiable when called outside inference mode.
torch::Tensor ResponseTokenLogprobs(model::CausalLm& model, const PackedSequences& packed);

// Per-sequence sum of ResponseTokenLogprobs, batched (batch_size pairs per forward), inference mode.
std::vector<double> SequenceLogprobs(model::CausalLm& model, const std::vector<TokenIds>& prompts,
                                     const std::vector<TokenIds>& responses, int64_t batch_size);

// r(x, y): the sequence-classification score (label 0) at the last response token, batched, inference
// mode. The model must have HeadKind::kSequenceClassification.
std::vector<double> RewardScores(model::CausalLm& reward_model, const std::vector<TokenIds>& prompts,
                                 const std::vector<TokenIds>& responses, int64_t batch_size);

// The stop ids the generator uses: the model's EOS ids, then options.stop_token_ids (deduplicated).
std::vector<int64_t> StopTokenIds(const model::ModelConfig& config, const SamplingOptions& options);

// [B, L] fp32 token log-densities under the distribution the generator samples from (SamplingLogProbs
// with `options`, stop ids banned at response positions < min_new_tokens), recomputed from full
// logits without a KV cache; 0 where there is no response target. Inference mode (a test reference).
torch::Tensor ProposalTokenLogprobs(model::CausalLm& model, const PackedSequences& packed,
                                    const SamplingOptions& options);

}  // namespace brain::sampling
