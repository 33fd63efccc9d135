// BrainObjective: BRAIn's self-normalised distillation loss and its ablations (spec §3).
#include "core/objectives/brain.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "core/objectives/batch_tensors.h"
#include "core/objectives/group_softmax.h"

namespace brain::objectives {
namespace {

using config::BrainConfig;
constexpr double kInf = std::numeric_limits<double>::infinity();

torch::Tensor F64(const torch::Tensor& t) { return t.detach().to(torch::kFloat64); }

torch::Tensor Gather(const torch::Tensor& per_group, const torch::Tensor& group_ids) {
  return per_group.index_select(0, group_ids);
}

// Mean and minimum of `values` over the groups where `keep` is true (0 when none).
std::pair<double, double> MeanMin(const torch::Tensor& values, const torch::Tensor& keep) {
  const torch::Tensor v = values.masked_select(keep);
  if (v.numel() == 0) return {0.0, 0.0};
  return {v.mean().item<double>(), v.min().item<double>()};
}

}  // namespace

const GroupReducer& BrainObjective::Reducer(const StepContext& context) const {
  static const IdentityGroupReducer kIdentity;
  if (config_.placement() == BrainConfig::SAMPLE_PARALLEL && context.reducer != nullptr) {
    return *context.reducer;
  }
  return kIdentity;
}

int64_t BrainObjective::NumGroups(const Batch& batch) const {
  Require(batch.group_ids, "brain", "group_ids");
  if (batch.num_groups > 0) return batch.num_groups;
  if (batch.group_ids.numel() == 0) return 0;
  return batch.group_ids.max().item<int64_t>() + 1;
}

torch::Tensor BrainObjective::LogLikelihood(const Batch& batch) const {
  Require(batch.rewards, "brain", "rewards");
  const torch::Tensor r = F64(batch.rewards);
  switch (config_.likelihood()) {
    case BrainConfig::SIGMOID:
      Require(batch.reference_rewards, "brain", "reference_rewards");
      return torch::log_sigmoid((r - F64(batch.reference_rewards)) / config_.tau());
    case BrainConfig::CONSTRAINT:
      return torch::where(r > 0, torch::zeros_like(r), torch::full_like(r, -kInf));
    default:  // EXPONENTIAL
      return r / config_.tau();
  }
}

torch::Tensor BrainObjective::LogTargetWeights(const Batch& batch) const {
  Require(batch.prior_logprobs, "brain", "prior_logprobs");
  Require(batch.proposal_logprobs, "brain", "proposal_logprobs");
  return F64(batch.prior_logprobs) + LogLikelihood(batch) - F64(batch.proposal_logprobs);
}

torch::Tensor BrainObjective::BadGroups(const Batch& batch, const torch::Tensor& log_q,
                                        const StepContext& context) const {
  const torch::Tensor proposal = F64(batch.proposal_logprobs);
  torch::Tensor bad =
      IsBad(batch.prior_logprobs) | IsBad(proposal) | IsBad(batch.rewards) | IsBad(LogTargetWeights(batch));
  if (config_.likelihood() == BrainConfig::SIGMOID) bad = bad | IsBad(batch.reference_rewards);
  if (batch.alpha.defined()) bad = bad | IsBad(batch.alpha);
  if (log_q.defined()) {
    const torch::Tensor diff = log_q.detach() - proposal;
    // A −∞ log q_θ would make the loss infinite: treated as a bad input too.
    bad = bad | ~torch::isfinite(config_.beta_pol() * diff);
    if (config_.baseline() == BrainConfig::UNNORMALIZED) bad = bad | ~torch::isfinite(torch::exp(diff));
  }
  return GroupMax(bad.to(torch::kFloat64), batch.group_ids, NumGroups(batch), Reducer(context)) > 0;
}

AlphaResult BrainObjective::AlphaGivenBad(const Batch& batch, const torch::Tensor& bad,
                                          const GroupReducer& reducer) const {
  const torch::Tensor& gid = batch.group_ids;
  const int64_t num_groups = bad.size(0);
  const torch::Tensor a = LogTargetWeights(batch);
  const torch::Tensor a_safe = torch::where(Gather(bad, gid), torch::zeros_like(a), a);
  const torch::Tensor a_max = GroupMax(a_safe, gid, num_groups, reducer);
  AlphaResult out;
  out.group_dropped = bad | (a_max == -kInf);
  torch::Tensor alpha;
  if (batch.alpha.defined()) {
    alpha = F64(batch.alpha);
  } else if (config_.alpha_mode() == BrainConfig::ARGMAX) {
    const torch::Tensor index =
        batch.sample_index.defined() ? batch.sample_index : torch::arange(a.size(0), gid.options());
    alpha = GroupArgmaxOneHot(a_safe, gid, index, num_groups, reducer);
  } else {
    const torch::Tensor lse = GroupLogSumExp(a_safe, gid, a_max, reducer);
    alpha = torch::exp(a_safe - Gather(lse, gid));
  }
  const torch::Tensor dropped_sample = Gather(out.group_dropped, gid);
  out.alpha = torch::where(dropped_sample, torch::zeros_like(alpha), alpha);
  const torch::Tensor sums = reducer.AllReduceSum(GroupSum(
      torch::stack({out.alpha * out.alpha, torch::xlogy(out.alpha, out.alpha)}, 1), gid, num_groups));
  const torch::Tensor keep = ~out.group_dropped;
  out.ess = torch::where(keep, 1.0 / sums.select(1, 0), torch::zeros({num_groups}, sums.options()));
  out.entropy = torch::where(keep, -sums.select(1, 1), torch::zeros({num_groups}, sums.options()));
  out.max_alpha = torch::where(keep, GroupMax(out.alpha, gid, num_groups, reducer),
                               torch::zeros({num_groups}, sums.options()));
  return out;
}

AlphaResult BrainObjective::ComputeAlpha(const Batch& batch, const StepContext& context) const {
  return AlphaGivenBad(batch, BadGroups(batch, torch::Tensor(), context), Reducer(context));
}

UnitCounts BrainObjective::CountUnits(const Batch& batch, const StepContext& context) const {
  const bool has_policy = batch.sequence_logprobs.defined() || batch.token_logprobs.defined();
  const torch::Tensor log_q = has_policy ? F64(SequenceLogprobs(batch)) : torch::Tensor();
  const torch::Tensor bad = BadGroups(batch, log_q, context);
  const torch::Tensor a = LogTargetWeights(batch);
  const torch::Tensor a_safe = torch::where(Gather(bad, batch.group_ids), torch::zeros_like(a), a);
  const torch::Tensor a_max = GroupMax(a_safe, batch.group_ids, bad.size(0), Reducer(context));
  UnitCounts counts;
  counts.groups = (~(bad | (a_max == -kInf))).sum().item<int64_t>();
  counts.sequences = batch.group_ids.size(0);
  if (batch.token_logprobs.defined())
    counts.tokens = (MaskAs(batch, batch.token_logprobs) > 0).sum().item<int64_t>();
  return counts;
}

ObjectiveOutput BrainObjective::Compute(const Batch& batch, const StepContext& context) const {
  const GroupReducer& reducer = Reducer(context);
  const torch::Tensor& gid = batch.group_ids;
  const int64_t num_groups = NumGroups(batch);
  const double beta_pol = config_.beta_pol();

  const torch::Tensor log_q = SequenceLogprobs(batch).to(torch::kFloat64);  // keeps the graph
  const torch::Tensor bad = BadGroups(batch, log_q, context);
  const AlphaResult alpha_result = AlphaGivenBad(batch, bad, reducer);
  const torch::Tensor& alpha = alpha_result.alpha;
  const torch::Tensor keep_group = ~alpha_result.group_dropped;
  const torch::Tensor keep = Gather(keep_group, gid);

  // Dropped samples are replaced by 0 before any arithmetic so that neither the value nor the gradient
  // of the kept groups can see their NaN/∞.
  const torch::Tensor zeros = torch::zeros_like(alpha);
  const torch::Tensor proposal = torch::where(keep, F64(batch.proposal_logprobs), zeros);
  const torch::Tensor log_q_safe = torch::where(keep, log_q, zeros);
  const torch::Tensor b = beta_pol * (log_q_safe - proposal);
  const torch::Tensor b_lse = GroupLogSumExp(b, gid, GroupMax(b, gid, num_groups, reducer), reducer);
  const torch::Tensor log_beta = b - Gather(b_lse, gid);
  const torch::Tensor beta_hat = torch::exp(log_beta.detach());
  const torch::Tensor group_loss = GroupSum(-alpha * log_beta, gid, num_groups);  // this rank's part of L_g

  const int64_t kept_groups = keep_group.sum().item<int64_t>();
  const double normaliser = Normaliser(context.global.groups, kept_groups);

  torch::Tensor coefficient;  // G·c_i, the baseline table of §3.3
  switch (config_.baseline()) {
    case BrainConfig::NONE:
      coefficient = -alpha;
      break;
    case BrainConfig::UNNORMALIZED: {
      const torch::Tensor n = reducer.AllReduceSum(GroupSum(keep.to(torch::kFloat64), gid, num_groups));
      coefficient = torch::exp(log_q_safe.detach() - proposal) / Gather(n, gid) - alpha;
      break;
    }
    default:  // SELF_NORMALIZED
      coefficient = beta_pol * (beta_hat - alpha);
  }
  coefficient = torch::where(keep, coefficient, zeros);
  const torch::Tensor c = coefficient / normaliser;

  ObjectiveOutput out;
  out.sequence_weights = c;
  const bool exact_autograd = config_.placement() != BrainConfig::SAMPLE_PARALLEL &&
                              config_.baseline() == BrainConfig::SELF_NORMALIZED;
  if (exact_autograd) {
    out.loss = group_loss.sum() / normaliser;
  } else {
    // Value L, gradient exactly c w.r.t. log q_θ (a surrogate: c·log q − stopgrad(c·log q)).
    const torch::Tensor linear = (c * log_q_safe).sum();
    out.loss = group_loss.sum().detach() / normaliser + (linear - linear.detach());
  }

  // Metrics (the full L_g needs one SUM when a group's samples are spread over ranks).
  const torch::Tensor full_group_loss = reducer.AllReduceSum(group_loss.detach());
  const double kept = std::max<int64_t>(kept_groups, 1);
  auto& m = out.metrics;
  m["groups"] = static_cast<double>(kept_groups);
  m["dropped"] = static_cast<double>(num_groups - kept_groups);
  m["loss"] = full_group_loss.masked_select(keep_group).sum().item<double>() / kept;
  m["d_sn"] = (full_group_loss - alpha_result.entropy).masked_select(keep_group).sum().item<double>() / kept;
  const auto [ess_mean, ess_min] = MeanMin(alpha_result.ess, keep_group);
  m["ess_mean"] = ess_mean;
  m["ess_min"] = ess_min;
  m["max_alpha_mean"] = alpha_result.max_alpha.masked_select(keep_group).sum().item<double>() / kept;
  // Means over kept samples, over every rank holding part of the groups (one SUM and one MAX under
  // SAMPLE_PARALLEL, so each rank reports the groups' values, not its share's): NaN (undefined) when
  // every group was dropped, so every micro-batch reports the same metric names and the trainer can
  // reduce them over ranks (it skips non-finite values).
  const torch::Tensor zero = torch::zeros({}, torch::kFloat64);
  // KL(q'‖p) estimate from the cached scores; equals KL(q_θ‖p) at a round's start when K = 1.
  const torch::Tensor sums = reducer.AllReduceSum(torch::stack(
      {keep.to(torch::kFloat64).sum(), torch::where(keep, proposal - F64(batch.prior_logprobs), zero).sum(),
       torch::where(keep, F64(batch.rewards), zero).sum()}));
  const torch::Tensor coefficient_max =
      reducer.AllReduceMax(coefficient.numel() > 0 ? coefficient.abs().max().reshape({1}) : zero.reshape({1}));
  const double kept_samples = sums[0].item<double>();
  const double undefined = std::numeric_limits<double>::quiet_NaN();
  m["kl_estimate"] = kept_samples > 0 ? sums[1].item<double>() / kept_samples : undefined;
  m["reward_mean"] = kept_samples > 0 ? sums[2].item<double>() / kept_samples : undefined;
  m["coefficient_abs_max"] = kept_samples > 0 ? coefficient_max.item<double>() : undefined;
  return out;
}

}  // namespace brain::objectives
