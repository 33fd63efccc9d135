// SftObjective: token-mean negative log-likelihood over the response tokens (spec §2).
#ifndef BRAIN_CORE_OBJECTIVES_SFT_H_
#define BRAIN_CORE_OBJECTIVES_SFT_H_

#include <string>

#include "core/objectives/objective.h"
#include "proto/config.pb.h"

namespace brain::objectives {

// Batch fields: token_logprobs [S, T] with grad, mask. Loss −Σ log π / N_tok with N_tok the step's
// global token count; a token whose log-prob is NaN/+∞ is dropped. sequence_weights = −1/N_tok.
// Metrics: nll (this micro-batch's token mean), tokens, dropped.
class SftObjective final : public Objective {
 public:
  explicit SftObjective(const config::SftConfig& config = config::SftConfig()) : config_(config) {}
  std::string Name() const override { return "sft"; }
  UnitCounts CountUnits(const Batch& batch, const StepContext& context) const override;
  ObjectiveOutput Compute(const Batch& batch, const StepContext& context) const override;

 private:
  config::SftConfig config_;
};

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_SFT_H_
