// RewardModelObjective: the Bradley–Terry pairwise loss of a scalar reward head (spec §2).
#include "core/objectives/reward_model.h"

#include <torch/torch.h>

#include "core/objectives/batch_tensors.h"

namespace brain::objectives {
namespace {

struct Pairs {
  torch::Tensor chosen, rejected, margin, kept;
};

Pairs SplitPairs(const Batch& batch, const config::RewardModelConfig& config) {
  Require(batch.rewards, "reward_model", "rewards");
  const int64_t num_pairs = batch.rewards.size(0) / 2;
  Pairs p;
  p.chosen = batch.rewards.slice(0, 0, num_pairs);
  p.rejected = batch.rewards.slice(0, num_pairs, 2 * num_pairs);
  if (config.use_data_margin()) {
    Require(batch.margins, "reward_model", "margins");
    p.margin = batch.margins.to(batch.rewards.scalar_type());
  } else {
    p.margin = torch::full({num_pairs}, config.margin(), batch.rewards.options());
  }
  p.kept = ~(IsBad(p.chosen) | IsBad(p.rejected) | IsBad(p.margin));
  return p;
}

}  // namespace

UnitCounts RewardModelObjective::CountUnits(const Batch& batch, const StepContext&) const {
  UnitCounts counts;
  counts.pairs = SplitPairs(batch, config_).kept.sum().item<int64_t>();
  counts.sequences = batch.rewards.size(0);
  return counts;
}

ObjectiveOutput RewardModelObjective::Compute(const Batch& batch, const StepContext& context) const {
  const Pairs p = SplitPairs(batch, config_);
  const torch::Tensor zeros = torch::zeros_like(p.chosen);
  const torch::Tensor diff = torch::where(p.kept, p.chosen - p.rejected, zeros);
  const torch::Tensor per_pair =
      torch::where(p.kept, -torch::log_sigmoid(diff - torch::where(p.kept, p.margin, zeros)), zeros);
  const int64_t kept = p.kept.sum().item<int64_t>();
  ObjectiveOutput out;
  out.loss = per_pair.sum() / Normaliser(context.global.pairs, kept);
  const double denom = kept > 0 ? static_cast<double>(kept) : 1.0;
  const torch::Tensor d = diff.detach();
  out.metrics["pairs"] = static_cast<double>(kept);
  out.metrics["dropped"] = static_cast<double>(p.kept.size(0) - kept);
  out.metrics["loss"] = per_pair.detach().sum().item<double>() / denom;
  out.metrics["accuracy"] =
      torch::where(p.kept, (d > 0).to(torch::kFloat64) + 0.5 * (d == 0).to(torch::kFloat64),
                   torch::zeros_like(d, torch::kFloat64))
          .sum()
          .item<double>() /
      denom;
  out.metrics["reward_margin"] = d.to(torch::kFloat64).sum().item<double>() / denom;
  return out;
}

}  // namespace brain::objectives
