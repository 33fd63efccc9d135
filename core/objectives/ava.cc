// AvaObjective: Approximated Variational Alignment, AVA-d (demonstrations) and AVA-p (pairs) (spec §4).
#include "core/objectives/ava.h"

#include <torch/torch.h>

#include "core/objectives/batch_tensors.h"

namespace brain::objectives {
namespace {

using config::AvaConfig;

double SafeDiv(double num, int64_t den) { return den > 0 ? num / static_cast<double>(den) : 0.0; }

}  // namespace

torch::Tensor AvaObjective::KeptSequences(const TqrTransitions& tr) const {
  if (!Pairwise()) return ~tr.sequence_bad;
  const int64_t n = tr.sequence_bad.size(0) / 2;
  const torch::Tensor pair_bad = tr.sequence_bad.slice(0, 0, n) | tr.sequence_bad.slice(0, n, 2 * n);
  return ~torch::cat({pair_bad, pair_bad});
}

UnitCounts AvaObjective::CountUnits(const Batch& batch, const StepContext&) const {
  const TqrTransitions tr = ReadTransitions(batch, config_);
  const torch::Tensor kept = KeptSequences(tr);
  UnitCounts counts;
  counts.tokens = (tr.mask & kept.unsqueeze(1)).sum().item<int64_t>();
  counts.sequences = kept.sum().item<int64_t>();
  if (Pairwise()) counts.pairs = counts.sequences / 2;
  return counts;
}

ObjectiveOutput AvaObjective::Compute(const Batch& batch, const StepContext& context) const {
  TqrTransitions tr = ReadTransitions(batch, config_);
  const torch::Tensor kept = KeptSequences(tr);
  tr.mask = tr.mask & kept.unsqueeze(1);  // a pair is dropped whole
  const int64_t num_seq = kept.size(0);
  const int64_t num_pairs = Pairwise() ? num_seq / 2 : 0;
  torch::Tensor floored_rows;
  if (Pairwise()) floored_rows = torch::arange(num_seq, kept.options().dtype(torch::kLong)) >= num_pairs;
  const AvaTokenTerms t = ComputeTokenTerms(tr, config_, floored_rows);

  const int64_t local_tokens = tr.mask.sum().item<int64_t>();
  const int64_t local_seqs = kept.sum().item<int64_t>();
  const double normaliser = config_.normalization() == AvaConfig::SEQUENCE_MEAN
                                ? Normaliser(context.global.sequences, local_seqs)
                                : Normaliser(context.global.tokens, local_tokens);
  const double lambda = config_.lambda();
  torch::Tensor objective_sum;  // Σ F over this micro-batch (maximised)
  ObjectiveOutput out;
  auto& m = out.metrics;
  if (!Pairwise()) {
    objective_sum =
        torch::where(kept, t.like_sum - t.kl_sum + lambda * t.td_sum, torch::zeros_like(t.like_sum)).sum();
    out.loss = -objective_sum / normaliser;
  } else {
    const int64_t n = num_pairs;
    auto chosen = [n](const torch::Tensor& v) { return v.slice(0, 0, n); };
    auto rejected = [n](const torch::Tensor& v) { return v.slice(0, n, 2 * n); };
    const double rejected_reg = config_.kl_td_on() == AvaConfig::CHOSEN_ONLY ? 0.0 : 1.0;
    const torch::Tensor f_pair = chosen(t.like_sum) - rejected(t.like_sum) - chosen(t.kl_sum) -
                                 rejected_reg * rejected(t.kl_sum) +
                                 lambda * (chosen(t.td_sum) + rejected_reg * rejected(t.td_sum));
    const torch::Tensor pair_kept = chosen(kept);
    const torch::Tensor zeros = torch::zeros_like(f_pair);
    objective_sum = torch::where(pair_kept, f_pair, zeros).sum();
    const torch::Tensor margin = torch::where(pair_kept, chosen(tr.mu_last) - rejected(tr.mu_last), zeros);
    torch::Tensor cer = zeros;
    if (config_.cer() == AvaConfig::SIGMOID) cer = torch::sigmoid(margin);
    if (config_.cer() == AvaConfig::LOG_SIGMOID) cer = torch::log_sigmoid(margin);
    cer = torch::where(pair_kept, cer, zeros);
    const int64_t kept_pairs = pair_kept.sum().item<int64_t>();
    out.loss = -objective_sum / normaliser -
               config_.eta() * cer.sum() / Normaliser(context.global.pairs, kept_pairs);
    const torch::Tensor md = margin.detach();
    m["pairs"] = static_cast<double>(kept_pairs);
    m["cer"] = SafeDiv(cer.detach().sum().item<double>(), kept_pairs);
    m["reward_accuracy"] = SafeDiv(
        torch::where(pair_kept, (md > 0).to(md.scalar_type()) + 0.5 * (md == 0).to(md.scalar_type()), zeros)
            .sum()
            .item<double>(),
        kept_pairs);
    const torch::Tensor rejected_mask = rejected(tr.mask);
    const torch::Tensor rejected_q =
        torch::where(rejected_mask, rejected(tr.q), torch::zeros_like(rejected(tr.q)));
    m["rejected_logprob_mean"] =
        SafeDiv(rejected_q.detach().sum().item<double>(), rejected_mask.sum().item<int64_t>());
  }
  m["loss"] = out.loss.item<double>();
  m["tokens"] = static_cast<double>(local_tokens);
  m["sequences"] = static_cast<double>(local_seqs);
  m["dropped"] = static_cast<double>(num_seq - local_seqs);
  m["like_mean"] = SafeDiv(t.like.detach().sum().item<double>(), local_tokens);
  m["kl_mean"] = SafeDiv(t.kl.detach().sum().item<double>(), local_tokens);
  m["td_mean"] = SafeDiv(t.td.detach().sum().item<double>(), local_tokens);
  return out;
}

}  // namespace brain::objectives
