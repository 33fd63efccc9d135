// TQR quantities of AVA: Q_t, reward weights, μ̃_t, log σ_t, and the per-token terms like/δ/kl/td.
#include "core/objectives/ava_terms.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#include "core/objectives/batch_tensors.h"

namespace brain::objectives {
namespace {

using config::AvaConfig;
constexpr double kLogSigmaBound = 5.0;

torch::Tensor ZeroOff(const torch::Tensor& keep, const torch::Tensor& values) {
  return torch::where(keep, values, torch::zeros_like(values));
}

// Gathers per-position values [S, L] at positions [S, T] (clamped into range; masked later).
torch::Tensor AtPositions(const torch::Tensor& values, const torch::Tensor& positions) {
  return values.gather(1, positions.clamp(0, values.size(1) - 1));
}

// Index of the last response transition of each row [S] (0 for an empty row).
torch::Tensor LastTransition(const torch::Tensor& mask) {
  const int64_t t = mask.size(1);
  const torch::Tensor order = torch::arange(1, t + 1, mask.options().dtype(torch::kLong));
  return (mask.to(torch::kLong) * order).argmax(1);
}

}  // namespace

torch::Tensor QFromLogits(const torch::Tensor& logits, const torch::Tensor& targets, AvaConfig::QForm q_form,
                          double alpha) {
  const torch::Tensor scores = q_form == AvaConfig::PROB_LITERAL ? torch::softmax(logits, -1) : logits;
  return torch::log_softmax(alpha * scores, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
}

torch::Tensor RewardWeights(const torch::Tensor& attention, const torch::Tensor& attention_mask) {
  const torch::Tensor query = attention_mask > 0;  // [S, L]
  const torch::Tensor a = torch::where(query.unsqueeze(-1), attention, torch::zeros_like(attention));
  const torch::Tensor count = query.sum(1, /*keepdim=*/true).clamp_min(1).to(attention.scalar_type());
  return a.sum(1) / count;
}

TqrTransitions ReadTransitions(const Batch& batch, const AvaConfig& config) {
  Require(batch.reward_mu, "ava", "reward_mu");
  Require(batch.reward_log_sigma, "ava", "reward_log_sigma");
  const bool by_position = batch.response_positions.defined();
  const AvaConfig::RewardWeights weights = config.reward_weights();
  const bool weighted = weights == AvaConfig::MU || weights == AvaConfig::MU_AND_Q;
  const bool has_weights = batch.reward_weights.defined() || batch.attention.defined();
  if (weighted && (!has_weights || !by_position)) {
    throw std::invalid_argument(
        "ava: reward_weights MU/MU_AND_Q needs `attention` (or `reward_weights`) and `response_positions`");
  }

  // Reward head per transition: NEXT_STATE reads the position of y_t, STATE the one before it.
  torch::Tensor mu = batch.reward_mu, log_sigma = batch.reward_log_sigma, mu_index;
  if (by_position) {
    mu_index = batch.response_positions - (config.reward_index() == AvaConfig::STATE ? 1 : 0);
    mu = AtPositions(batch.reward_mu, mu_index);
    log_sigma = AtPositions(batch.reward_log_sigma, mu_index);
  }
  // Q_t, read at the position before y_t (absent when only rewards are scored).
  const bool q_from_logits = !batch.q_values.defined() && batch.q_logits.defined();
  torch::Tensor q = torch::zeros_like(mu);
  if (batch.q_values.defined()) {
    q = batch.q_values;
  } else if (q_from_logits) {
    Require(batch.target_ids, "ava", "target_ids");
    q = QFromLogits(batch.q_logits, batch.target_ids, config.q_form(), config.alpha());
  }
  const torch::Tensor mask = batch.mask.defined() ? batch.mask > 0 : torch::ones_like(mu, torch::kBool);

  // Bad inputs (NaN/+∞ on a response transition) drop the whole sequence.
  torch::Tensor bad = BadSequences(q, mask) | BadSequences(mu, mask) | BadSequences(log_sigma, mask);
  if (q_from_logits) bad = bad | BadSequences(batch.q_logits, mask);
  TqrTransitions tr;
  tr.sequence_bad = bad;
  tr.mask = mask & ~bad.unsqueeze(1);
  if (q_from_logits) {
    // Recompute Q from sanitised logits so no NaN of a padded or dropped row reaches the backward.
    const torch::Tensor logits = ZeroOff(tr.mask.unsqueeze(-1), batch.q_logits);
    q = QFromLogits(logits, ZeroOff(tr.mask, batch.target_ids), config.q_form(), config.alpha());
  }
  q = ZeroOff(tr.mask, q);
  mu = ZeroOff(tr.mask, mu);
  log_sigma = ZeroOff(tr.mask, log_sigma).clamp(-kLogSigmaBound, kLogSigmaBound);

  const torch::Tensor last = LastTransition(tr.mask).unsqueeze(1);  // [S, 1]
  if (weighted) {
    const torch::Tensor w =
        batch.reward_weights.defined()
            ? batch.reward_weights
            : RewardWeights(batch.attention, batch.attention_mask.defined() ? batch.attention_mask
                                                                            : torch::ones_like(batch.reward_mu));
    mu = mu * AtPositions(w, mu_index);
    if (weights == AvaConfig::MU_AND_Q) q = q * AtPositions(w, batch.response_positions - 1);
    const torch::Tensor last_pos = batch.response_positions.gather(1, last);
    const torch::Tensor raw_last = ZeroOff(~bad, AtPositions(batch.reward_mu, last_pos).squeeze(1));
    tr.mu_last = raw_last * AtPositions(w, last_pos).squeeze(1);
  } else if (by_position) {
    tr.mu_last =
        ZeroOff(~bad, AtPositions(batch.reward_mu, batch.response_positions.gather(1, last)).squeeze(1));
  } else {
    tr.mu_last = mu.gather(1, last).squeeze(1);  // already zero off the mask
  }
  tr.q = q;
  tr.mu = mu;
  tr.log_sigma = log_sigma;
  tr.next_mask = torch::cat({tr.mask.slice(1, 1), torch::zeros_like(tr.mask.slice(1, 0, 1))}, 1);
  return tr;
}

AvaTokenTerms ComputeTokenTerms(const TqrTransitions& tr, const AvaConfig& config,
                                const torch::Tensor& floored_rows) {
  AvaTokenTerms t;
  torch::Tensor like_q = tr.q;
  if (config.has_rejected_logprob_floor() && floored_rows.defined()) {
    const torch::Tensor floored = torch::clamp_min(tr.q, config.rejected_logprob_floor());
    like_q = torch::where(floored_rows.unsqueeze(1) & tr.mask, floored, tr.q);
  }
  t.like = ZeroOff(tr.mask, config.beta() * like_q);
  t.term_mask = config.absorbing_eos() ? tr.mask : (tr.mask & tr.next_mask);
  // Q_{t+1} (0 after the last transition, i.e. the absorbing state's value).
  const torch::Tensor q_next = torch::cat({tr.q.slice(1, 1), torch::zeros_like(tr.q.slice(1, 0, 1))}, 1);
  t.delta = ZeroOff(t.term_mask, tr.q - config.gamma() * q_next);
  const torch::Tensor var = torch::exp(2.0 * tr.log_sigma);
  if (config.kl_enabled()) {
    t.kl = ZeroOff(t.term_mask, 0.5 * (tr.mu.square() + var - 1.0) - tr.log_sigma);
  } else {
    t.kl = torch::zeros_like(tr.q);
  }
  const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
  t.td = ZeroOff(t.term_mask, -half_log_2pi - tr.log_sigma - (t.delta - tr.mu).square() / (2.0 * var));
  t.token_total = t.like - t.kl + config.lambda() * t.td;
  t.like_sum = t.like.sum(1);
  t.kl_sum = t.kl.sum(1);
  t.td_sum = t.td.sum(1);
  return t;
}

torch::Tensor AvaRewardLast(const Batch& batch, const AvaConfig& config) {
  return ReadTransitions(batch, config).mu_last;
}

torch::Tensor AvaRewardSum(const Batch& batch, const AvaConfig& config) {
  return ReadTransitions(batch, config).mu.sum(1);
}

}  // namespace brain::objectives
