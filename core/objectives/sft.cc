// SftObjective: token-mean negative log-likelihood over the response tokens (spec §2).
#include "core/objectives/sft.h"

#include <torch/torch.h>

#include "core/objectives/batch_tensors.h"

namespace brain::objectives {
namespace {

// Response tokens that enter the loss: masked in and not NaN/+∞.
torch::Tensor KeptTokens(const Batch& batch) {
  Require(batch.token_logprobs, "sft", "token_logprobs");
  return (MaskAs(batch, batch.token_logprobs) > 0) & ~IsBad(batch.token_logprobs);
}

}  // namespace

UnitCounts SftObjective::CountUnits(const Batch& batch, const StepContext&) const {
  UnitCounts counts;
  counts.tokens = KeptTokens(batch).sum().item<int64_t>();
  counts.sequences = batch.token_logprobs.size(0);
  return counts;
}

ObjectiveOutput SftObjective::Compute(const Batch& batch, const StepContext& context) const {
  const torch::Tensor kept = KeptTokens(batch);
  const torch::Tensor& lp = batch.token_logprobs;
  const torch::Tensor total = torch::where(kept, lp, torch::zeros_like(lp)).sum();
  const int64_t local_tokens = kept.sum().item<int64_t>();
  const double normaliser = Normaliser(context.global.tokens, local_tokens);
  ObjectiveOutput out;
  out.loss = -total / normaliser;
  out.sequence_weights = torch::full({lp.size(0)}, -1.0 / normaliser, lp.options().dtype(torch::kFloat64));
  out.metrics["tokens"] = static_cast<double>(local_tokens);
  out.metrics["dropped"] =
      static_cast<double>(((MaskAs(batch, lp) > 0).sum().item<int64_t>() - local_tokens));
  out.metrics["nll"] = local_tokens > 0 ? -total.item<double>() / local_tokens : 0.0;
  return out;
}

}  // namespace brain::objectives
