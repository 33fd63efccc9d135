// The objective registry: ExperimentConfig's algorithm oneof → the Objective that implements it.
#include "core/objectives/registry.h"

#include <functional>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/objectives/ava.h"
#include "core/objectives/brain.h"
#include "core/objectives/dpo.h"
#include "core/objectives/reward_model.h"
#include "core/objectives/sft.h"

namespace brain::objectives {
namespace {

using config::ExperimentConfig;
using Factory = std::function<absl::StatusOr<std::unique_ptr<Objective>>(const ExperimentConfig&)>;

absl::StatusOr<std::unique_ptr<Objective>> MakeBrain(const ExperimentConfig& c) {
  const config::BrainConfig& b = c.brain();
  if (b.beta_pol() != 1.0 && b.baseline() != config::BrainConfig::SELF_NORMALIZED) {
    return absl::InvalidArgumentError(absl::StrCat("brain.beta_pol = ", b.beta_pol(),
                                                   " requires brain.baseline SELF_NORMALIZED (spec §3.3)"));
  }
  if (!(b.tau() > 0))
    return absl::InvalidArgumentError(absl::StrCat("brain.tau must be > 0 (got ", b.tau(), ")"));
  return std::make_unique<BrainObjective>(b);
}

absl::StatusOr<std::unique_ptr<Objective>> MakeDpo(const ExperimentConfig& c) {
  if (!(c.dpo().beta() > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("dpo.beta must be > 0 (got ", c.dpo().beta(), ")"));
  }
  return std::make_unique<DpoObjective>(c.dpo());
}

const std::map<ExperimentConfig::AlgorithmCase, Factory>& Factories() {
  static const auto* factories = new std::map<ExperimentConfig::AlgorithmCase, Factory>{
      {ExperimentConfig::kSft,
       [](const ExperimentConfig& c) -> absl::StatusOr<std::unique_ptr<Objective>> {
         return std::make_unique<SftObjective>(c.sft());
       }},
      {ExperimentConfig::kRewardModel,
       [](const ExperimentConfig& c) -> absl::StatusOr<std::unique_ptr<Objective>> {
         return std::make_unique<RewardModelObjective>(c.reward_model());
       }},
      {ExperimentConfig::kDpo, MakeDpo},
      {ExperimentConfig::kBrain, MakeBrain},
      {ExperimentConfig::kAva,
       [](const ExperimentConfig& c) -> absl::StatusOr<std::unique_ptr<Objective>> {
         return std::make_unique<AvaObjective>(c.ava());
       }},
  };
  return *factories;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Objective>> CreateObjective(const ExperimentConfig& config) {
  const auto& factories = Factories();
  const auto it = factories.find(config.algorithm_case());
  if (it == factories.end()) {
    return absl::InvalidArgumentError(
        "algorithm: no objective for this config; set one of sft, reward_model, dpo, brain, ava");
  }
  return it->second(config);
}

std::vector<ExperimentConfig::AlgorithmCase> RegisteredAlgorithms() {
  std::vector<ExperimentConfig::AlgorithmCase> out;
  for (const auto& [key, factory] : Factories()) out.push_back(key);
  return out;
}

}  // namespace brain::objectives
