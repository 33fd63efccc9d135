// Per-chunk steps of the fused weighted log-likelihood: ATen implementations and device dispatch.
#include "kernels/logprob_chunk_ops.h"

#include <ATen/ATen.h>

namespace brain::kernels::internal {
namespace {

bool UseCudaKernels(const at::Tensor& logits) {
#ifdef BRAIN_WITH_CUDA
  return logits.is_cuda() && logits.scalar_type() == at::kFloat;
#else
  (void)logits;
  return false;
#endif
}

// Targets with ignored rows replaced by 0, so they can index a gather/scatter.
at::Tensor SafeTargets(const at::Tensor& targets, const at::Tensor& valid) {
  return at::where(valid, targets, at::zeros({}, targets.options()));
}

}  // namespace

at::Tensor ChunkLogits(const at::Tensor& hidden_chunk, const at::Tensor& weight) {
#ifdef BRAIN_WITH_CUDA
  if (hidden_chunk.is_cuda() && hidden_chunk.scalar_type() != at::kDouble) {
    return ChunkLogitsCuda(hidden_chunk, weight);
  }
#endif
  at::Tensor logits = at::mm(hidden_chunk, weight.t());
  if (logits.scalar_type() != at::kDouble && logits.scalar_type() != at::kFloat) {
    logits = logits.to(at::kFloat);
  }
  return logits;
}

void ChunkRowStats(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index, at::Tensor lse,
                   at::Tensor logprob, at::Tensor entropy) {
#ifdef BRAIN_WITH_CUDA
  if (UseCudaKernels(logits)) {
    ChunkRowStatsCuda(logits, targets, ignore_index, lse, logprob, entropy);
    return;
  }
#endif
  ChunkRowStatsAten(logits, targets, ignore_index, lse, logprob, entropy);
}

void ChunkLogitGradInPlace(at::Tensor& logits, const at::Tensor& lse, const at::Tensor& grad,
                           const at::Tensor& targets, int64_t ignore_index) {
#ifdef BRAIN_WITH_CUDA
  if (UseCudaKernels(logits)) {
    ChunkLogitGradInPlaceCuda(logits, lse, grad, targets, ignore_index);
    return;
  }
#endif
  ChunkLogitGradInPlaceAten(logits, lse, grad, targets, ignore_index);
}

void ChunkRowStatsAten(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index, at::Tensor lse,
                       at::Tensor logprob, at::Tensor entropy) {
  const at::Tensor valid = targets.ne(ignore_index);
  const at::Tensor row_lse = at::logsumexp(logits, {1});
  const at::Tensor target_logit = logits.gather(1, SafeTargets(targets, valid).unsqueeze(1)).squeeze(1);
  lse.copy_(row_lse);
  logprob.copy_(at::where(valid, target_logit - row_lse, at::zeros({}, row_lse.options())));
  if (entropy.defined()) {
    // H = −Σ p·log p with log p = z − lse computed in place (logits are a scratch buffer here).
    logits.sub_(row_lse.unsqueeze(1));
    at::Tensor p_log_p = at::exp(logits).mul_(logits);
    entropy.copy_(p_log_p.sum(1).neg_());
  }
}

void ChunkLogitGradInPlaceAten(at::Tensor& logits, const at::Tensor& lse, const at::Tensor& grad,
                               const at::Tensor& targets, int64_t ignore_index) {
  const at::Tensor valid = targets.ne(ignore_index);
  const at::Tensor g = at::where(valid, grad.to(logits.scalar_type()), at::zeros({}, logits.options()));
  // g·(onehot − softmax): first −g·exp(z − lse) in place, then +g at the target column.
  logits.sub_(lse.unsqueeze(1)).exp_().mul_(g.neg().unsqueeze(1));
  logits.scatter_add_(1, SafeTargets(targets, valid).unsqueeze(1), g.unsqueeze(1));
}

}  // namespace brain::kernels::internal
