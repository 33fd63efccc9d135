// BrainObjective: BRAIn's self-normalised distillation loss and its ablations (spec §3).
#ifndef BRAIN_CORE_OBJECTIVES_BRAIN_H_
#define BRAIN_CORE_OBJECTIVES_BRAIN_H_

#include <torch/types.h>

#include <string>

#include "core/objectives/objective.h"
#include "proto/config.pb.h"

namespace brain::objectives {

// The round's target weights over each group's samples, computed once when the round is cached.
struct AlphaResult {
  torch::Tensor alpha;          // [S] fp64 α̂ (0 for the samples of dropped groups)
  torch::Tensor group_dropped;  // [G] bool: NaN/+∞ input or all a_i = −∞
  torch::Tensor ess;            // [G] fp64 1 / Σ α̂² (0 for dropped groups)
  torch::Tensor max_alpha;      // [G] fp64
  torch::Tensor entropy;        // [G] fp64 H(α̂) = −Σ α̂ log α̂
};

// Batch fields: token_logprobs + mask (or sequence_logprobs) = log q_θ with grad; prior_logprobs,
// proposal_logprobs, rewards (CONSTRAINT: judge output, satisfied iff > 0), reference_rewards (SIGMOID),
// group_ids, num_groups; optional alpha (cached α̂) and sample_index (ARGMAX ties, SAMPLE_PARALLEL).
//
// Compute() returns loss = this rank's share of L = (1/G) Σ_g L_g and sequence_weights = c_i, the
// coefficient of log q_θ(y_i) (baseline table of §3.3, divided by G). Under GROUP_LOCAL with
// SELF_NORMALIZED the loss is the cross-entropy itself and autograd reproduces c; otherwise (other
// baselines, or groups spread over ranks) the loss has the value L and a gradient of exactly c.
// Metrics: loss, groups, dropped, ess_mean, ess_min, max_alpha_mean, d_sn, kl_estimate, reward_mean,
// coefficient_abs_max (G·c).
class BrainObjective final : public Objective {
 public:
  // The config must already be validated (β_pol ≠ 1 only with SELF_NORMALIZED); see registry.h.
  explicit BrainObjective(const config::BrainConfig& config) : config_(config) {}

  std::string Name() const override { return "brain"; }
  UnitCounts CountUnits(const Batch& batch, const StepContext& context) const override;
  ObjectiveOutput Compute(const Batch& batch, const StepContext& context) const override;

  // log ℓ(x, y_i) per sample [S] fp64 for the configured likelihood.
  torch::Tensor LogLikelihood(const Batch& batch) const;
  // a_i = log p + log ℓ − log q' [S] fp64.
  torch::Tensor LogTargetWeights(const Batch& batch) const;
  // α̂ per group (SOFTMAX or ARGMAX) with the non-finite guards; collective under SAMPLE_PARALLEL.
  AlphaResult ComputeAlpha(const Batch& batch, const StepContext& context) const;

  const config::BrainConfig& config() const { return config_; }

 private:
  const GroupReducer& Reducer(const StepContext& context) const;
  int64_t NumGroups(const Batch& batch) const;
  // [G] bool: a group with a bad input among its samples (reduced over ranks when sample-parallel).
  torch::Tensor BadGroups(const Batch& batch, const torch::Tensor& log_q, const StepContext& context) const;
  AlphaResult AlphaGivenBad(const Batch& batch, const torch::Tensor& bad, const GroupReducer& reducer) const;

  config::BrainConfig config_;
};

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_BRAIN_H_
