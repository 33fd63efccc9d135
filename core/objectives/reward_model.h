// RewardModelObjective: the Bradley–Terry pairwise loss of a scalar reward head (spec §2).
#ifndef BRAIN_CORE_OBJECTIVES_REWARD_MODEL_H_
#define BRAIN_CORE_OBJECTIVES_REWARD_MODEL_H_

#include <string>

#include "core/objectives/objective.h"
#include "proto/config.pb.h"

namespace brain::objectives {

// Batch fields: rewards [2P] with grad (row p chosen, row P + p rejected), margins [P] when
// use_data_margin. Per pair −log σ(r_c − r_j − m); summed and divided by the step's pair count.
// Metrics: loss, accuracy (ties count half), reward_margin, pairs, dropped.
class RewardModelObjective final : public Objective {
 public:
  explicit RewardModelObjective(const config::RewardModelConfig& config) : config_(config) {}
  std::string Name() const override { return "reward_model"; }
  UnitCounts CountUnits(const Batch& batch, const StepContext& context) const override;
  ObjectiveOutput Compute(const Batch& batch, const StepContext& context) const override;

 private:
  config::RewardModelConfig config_;
};

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_REWARD_MODEL_H_
