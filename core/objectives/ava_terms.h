// TQR quantities of AVA: Q_t, reward weights, μ̃_t, log σ_t, and the per-token terms like/δ/kl/td (spec
// §4.2–4.3).
#ifndef BRAIN_CORE_OBJECTIVES_AVA_TERMS_H_
#define BRAIN_CORE_OBJECTIVES_AVA_TERMS_H_

#include <torch/types.h>

#include "core/objectives/objective.h"
#include "proto/config.pb.h"

namespace brain::objectives {

// The response transitions of a batch, read according to the AVA options. All [S, T] tensors are zero
// off `mask` (so that padding garbage, even NaN, reaches neither values nor gradients).
struct TqrTransitions {
  torch::Tensor mask;          // [S, T] bool: transitions of sequences without bad inputs
  torch::Tensor next_mask;     // [S, T] bool: transition t + 1 exists
  torch::Tensor q;             // [S, T] Q_t (multiplied by w under MU_AND_Q)
  torch::Tensor mu;            // [S, T] μ̃_t = w·μ (w = 1 when reward_weights is OFF)
  torch::Tensor log_sigma;     // [S, T] clamped to [−5, 5]
  torch::Tensor mu_last;       // [S] μ̃ at the position of y_T (the AVA reward of the sequence)
  torch::Tensor sequence_bad;  // [S] bool: a NaN/+∞ among the sequence's inputs
};

// The per-token terms of §4.3 (each zero off its mask) and their per-sequence sums.
struct AvaTokenTerms {
  torch::Tensor like;         // [S, T] β·Q_t (β·max(Q_t, f) on floored rows)
  torch::Tensor delta;        // [S, T] Q_t − γ·Q_{t+1}, on term_mask
  torch::Tensor kl;           // [S, T] KL(N(μ̃, σ²) ‖ N(0, 1)), on term_mask (0 when KL is disabled)
  torch::Tensor td;           // [S, T] log N(δ_t; μ̃_t, σ_t), on term_mask
  torch::Tensor term_mask;    // [S, T] bool: the set 𝒯 (all but the last transition, or all if absorbing)
  torch::Tensor token_total;  // [S, T] F_t = like_t − kl_t + λ·td_t
  torch::Tensor like_sum, kl_sum, td_sum;  // [S]
};

// Q(s, y_t) from the logits before each response token [S, T, V] and the tokens [S, T]:
// TEMPERED_LOGPROB and FRESH_HEAD: log_softmax(α·logits); PROB_LITERAL: log_softmax(α·softmax(logits)).
torch::Tensor QFromLogits(const torch::Tensor& logits, const torch::Tensor& targets,
                          config::AvaConfig::QForm q_form, double alpha);

// w_j = (1/L) Σ_i Ā_{i,j} over the L non-pad query positions: attention [S, L, L], mask [S, L] → [S, L].
torch::Tensor RewardWeights(const torch::Tensor& attention, const torch::Tensor& attention_mask);

// Reads Q, μ̃, log σ per transition from the batch (see objective.h for the fields).
TqrTransitions ReadTransitions(const Batch& batch, const config::AvaConfig& config);

// The §4.3 terms; `floored_rows` [S] bool (or undefined) selects the rows whose likelihood uses the
// rejected_logprob_floor when the option is set.
AvaTokenTerms ComputeTokenTerms(const TqrTransitions& tr, const config::AvaConfig& config,
                                const torch::Tensor& floored_rows);

// AVA reward API (§4.5): μ_last = μ̃ at the last response token, and R(x, y) = Σ_t μ̃_t. [S] each.
torch::Tensor AvaRewardLast(const Batch& batch, const config::AvaConfig& config);
torch::Tensor AvaRewardSum(const Batch& batch, const config::AvaConfig& config);

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_AVA_TERMS_H_
