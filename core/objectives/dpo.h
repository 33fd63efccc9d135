// DpoObjective: DPO, conservative DPO (label smoothing) and IPO on cached reference log-probs (spec §2).
#ifndef BRAIN_CORE_OBJECTIVES_DPO_H_
#define BRAIN_CORE_OBJECTIVES_DPO_H_

#include <torch/types.h>

#include <string>

#include "core/objectives/objective.h"
#include "proto/config.pb.h"

namespace brain::objectives {

// Batch fields: token_logprobs + mask (or sequence_logprobs) [2P] with grad, reference_logprobs [2P];
// row p is the chosen response of pair p, row P + p the rejected one.
// h = [log π(y_c) − log π_ref(y_c)] − [log π(y_j) − log π_ref(y_j)];
// SIGMOID: −(1−ε) log σ(βh) − ε log σ(−βh); IPO: (h − 1/(2β))². Mean over the step's pairs.
// sequence_weights = ±∂L/∂h / N_pairs (+ chosen, − rejected). Metrics: loss, accuracy (h > 0),
// reward_chosen, reward_rejected, reward_margin (implicit rewards β·(log π − log π_ref)), pairs, dropped.
class DpoObjective final : public Objective {
 public:
  explicit DpoObjective(const config::DpoConfig& config) : config_(config) {}
  std::string Name() const override { return "dpo"; }
  UnitCounts CountUnits(const Batch& batch, const StepContext& context) const override;
  ObjectiveOutput Compute(const Batch& batch, const StepContext& context) const override;

  // Per-pair loss and ∂loss/∂h for margins h (any shape, fp64 recommended).
  torch::Tensor PairLoss(const torch::Tensor& h) const;
  torch::Tensor PairLossGradient(const torch::Tensor& h) const;

 private:
  config::DpoConfig config_;
};

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_DPO_H_
