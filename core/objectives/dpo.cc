// DpoObjective: DPO, conservative DPO (label smoothing) and IPO on cached reference log-probs (spec §2).
#include "core/objectives/dpo.h"

#include <torch/torch.h>

#include "core/objectives/batch_tensors.h"

namespace brain::objectives {
namespace {

struct PairLogprobs {
  torch::Tensor chosen_ratio, rejected_ratio, kept;  // log π − log π_ref per pair (fp64)
};

PairLogprobs Ratios(const Batch& batch) {
  Require(batch.reference_logprobs, "dpo", "reference_logprobs");
  const torch::Tensor policy = SequenceLogprobs(batch).to(torch::kFloat64);
  const torch::Tensor reference = batch.reference_logprobs.detach().to(torch::kFloat64);
  const int64_t n = policy.size(0) / 2;
  const torch::Tensor bad = IsBad(policy) | IsBad(reference);
  PairLogprobs out;
  out.kept = ~(bad.slice(0, 0, n) | bad.slice(0, n, 2 * n));
  const torch::Tensor keep2 = torch::cat({out.kept, out.kept});
  const torch::Tensor ratio = torch::where(keep2, policy, torch::zeros_like(policy)) -
                              torch::where(keep2, reference, torch::zeros_like(reference));
  out.chosen_ratio = ratio.slice(0, 0, n);
  out.rejected_ratio = ratio.slice(0, n, 2 * n);
  return out;
}

}  // namespace

torch::Tensor DpoObjective::PairLoss(const torch::Tensor& h) const {
  const double beta = config_.beta();
  if (config_.loss() == config::DpoConfig::IPO) return (h - 1.0 / (2.0 * beta)).square();
  const double eps = config_.label_smoothing();
  return -(1.0 - eps) * torch::log_sigmoid(beta * h) - eps * torch::log_sigmoid(-beta * h);
}

torch::Tensor DpoObjective::PairLossGradient(const torch::Tensor& h) const {
  const double beta = config_.beta();
  if (config_.loss() == config::DpoConfig::IPO) return 2.0 * (h - 1.0 / (2.0 * beta));
  const double eps = config_.label_smoothing();
  return -(1.0 - eps) * beta * torch::sigmoid(-beta * h) + eps * beta * torch::sigmoid(beta * h);
}

UnitCounts DpoObjective::CountUnits(const Batch& batch, const StepContext&) const {
  UnitCounts counts;
  counts.pairs = Ratios(batch).kept.sum().item<int64_t>();
  counts.sequences = 2 * counts.pairs;
  return counts;
}

ObjectiveOutput DpoObjective::Compute(const Batch& batch, const StepContext& context) const {
  const PairLogprobs r = Ratios(batch);
  const torch::Tensor h = r.chosen_ratio - r.rejected_ratio;
  const torch::Tensor zeros = torch::zeros_like(h);
  const torch::Tensor per_pair = torch::where(r.kept, PairLoss(h), zeros);
  const int64_t kept = r.kept.sum().item<int64_t>();
  const double normaliser = Normaliser(context.global.pairs, kept);
  ObjectiveOutput out;
  out.loss = per_pair.sum() / normaliser;
  const torch::Tensor dh = torch::where(r.kept, PairLossGradient(h.detach()), zeros) / normaliser;
  out.sequence_weights = torch::cat({dh, -dh});

  const double denom = kept > 0 ? static_cast<double>(kept) : 1.0;
  const double beta = config_.beta();
  const torch::Tensor hd = h.detach();
  auto& m = out.metrics;
  m["pairs"] = static_cast<double>(kept);
  m["dropped"] = static_cast<double>(r.kept.size(0) - kept);
  m["loss"] = per_pair.detach().sum().item<double>() / denom;
  m["accuracy"] = torch::where(r.kept, (hd > 0).to(torch::kFloat64), zeros).sum().item<double>() / denom;
  m["reward_chosen"] = beta * r.chosen_ratio.detach().sum().item<double>() / denom;
  m["reward_rejected"] = beta * r.rejected_ratio.detach().sum().item<double>() / denom;
  m["reward_margin"] = beta * hd.sum().item<double>() / denom;
  return out;
}

}  // namespace brain::objectives
