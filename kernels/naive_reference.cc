// Naive reference implementations: materialise everything with plain LibTorch ops.
#include "kernels/naive_reference.h"

#include <ATen/ATen.h>

#include <limits>

namespace brain::kernels {

TokenLogprobs NaiveWeightedTokenLogprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                         const at::Tensor& targets, int64_t ignore_index,
                                         bool compute_entropy) {
  const at::ScalarType work = hidden.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const at::Tensor logits = at::mm(hidden, weight.t()).to(work);
  const at::Tensor log_probs = at::log_softmax(logits, 1);
  const at::Tensor valid = targets.ne(ignore_index);
  const at::Tensor safe_targets = at::where(valid, targets, at::zeros({}, targets.options()));
  const at::Tensor picked = log_probs.gather(1, safe_targets.unsqueeze(1)).squeeze(1);
  TokenLogprobs out;
  out.logprob = at::where(valid, picked, at::zeros({}, picked.options()));
  if (compute_entropy) {
    const at::Tensor detached = log_probs.detach();
    out.entropy = -(at::exp(detached) * detached).sum(1);
  }
  return out;
}

at::Tensor NaiveSegmentedLogSoftmax(const at::Tensor& values, const at::Tensor& group_ids) {
  at::Tensor out = at::empty_like(values);
  if (values.numel() == 0) return out;
  const int64_t groups = group_ids.max().item<int64_t>() + 1;
  for (int64_t g = 0; g < groups; ++g) {
    const at::Tensor members = group_ids.eq(g).nonzero().squeeze(1);
    if (members.numel() == 0) continue;
    const at::Tensor v = values.index_select(0, members);
    at::Tensor result = at::log_softmax(v, 0);
    // log_softmax of an all-(−inf) group is NaN; by convention such a group carries no mass.
    if (at::isneginf(v).all().item<bool>())
      result = at::full_like(v, -std::numeric_limits<double>::infinity());
    out.index_copy_(0, members, result);
  }
  return out;
}

}  // namespace brain::kernels
