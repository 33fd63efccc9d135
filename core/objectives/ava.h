// AvaObjective: Approximated Variational Alignment, AVA-d (demonstrations) and AVA-p (pairs) (spec §4).
#ifndef BRAIN_CORE_OBJECTIVES_AVA_H_
#define BRAIN_CORE_OBJECTIVES_AVA_H_

#include <string>

#include "core/objectives/ava_terms.h"
#include "core/objectives/objective.h"
#include "proto/config.pb.h"

namespace brain::objectives {

// Batch fields: Q (q_values [S, T], or q_logits [S, T, V] + target_ids), mask, reward_mu and
// reward_log_sigma ([S, L] with response_positions, or [S, T] per transition), attention +
// attention_mask (or the model-reduced reward_weights [S, L]) when reward_weights is not OFF. AVA-p:
// row p chosen, row P + p rejected.
// AVA-d loss −Σ_y F(y) / N; AVA-p loss −Σ_pairs F_p / N − η Σ_pairs C / N_pairs, with N the step's
// token count (TOKEN_MEAN, both sequences of a pair) or sequence count (SEQUENCE_MEAN).
// Metrics: loss, tokens, sequences, pairs, dropped, like_mean, kl_mean, td_mean (per token),
// AVA-p also cer, reward_accuracy (μ_last ordering, ties half), rejected_logprob_mean (unfloored Q).
class AvaObjective final : public Objective {
 public:
  explicit AvaObjective(const config::AvaConfig& config) : config_(config) {}
  std::string Name() const override { return "ava"; }
  UnitCounts CountUnits(const Batch& batch, const StepContext& context) const override;
  ObjectiveOutput Compute(const Batch& batch, const StepContext& context) const override;

  // Reward API (§4.5): μ_last per sequence, usable as BRAIn's reward and for best-of-n; and Σ_t μ̃_t.
  torch::Tensor RewardLast(const Batch& batch) const { return AvaRewardLast(batch, config_); }
  torch::Tensor RewardSum(const Batch& batch) const { return AvaRewardSum(batch, config_); }

 private:
  bool Pairwise() const { return config_.mode() == config::AvaConfig::AVA_P; }
  // [S] bool: sequences that enter the loss (AVA-p: both rows of a pair without bad inputs).
  torch::Tensor KeptSequences(const TqrTransitions& tr) const;

  config::AvaConfig config_;
};

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_AVA_H_
