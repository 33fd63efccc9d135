// Per-chunk steps of the fused weighted log-likelihood: ATen implementations and device dispatch.
#include "kernels/logprob_chunk_ops.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "kernels/logprob_rows_cpu.h"
#include "kernels/weighted_token_logprobs.h"

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

at::ScalarType WorkingType(at::ScalarType input) { return input == at::kDouble ? at::kDouble : at::kFloat; }

std::vector<bool> ActiveChunks(const at::Tensor& targets, int64_t vocab_size, int64_t ignore_index,
                               int64_t chunk_rows, const char* op) {
  const at::Tensor host = targets.to(at::kCPU).contiguous();
  const int64_t* t = host.data_ptr<int64_t>();
  const int64_t n = host.numel();
  std::vector<bool> active((n + chunk_rows - 1) / chunk_rows, false);
  for (int64_t i = 0; i < n; ++i) {
    if (t[i] == ignore_index) continue;
    TORCH_CHECK(t[i] >= 0 && t[i] < vocab_size, op, ": targets[", i, "] = ", t[i], " is outside [0, ",
                vocab_size, ") and is not ignore_index (", ignore_index, ")");
    active[i / chunk_rows] = true;
  }
  return active;
}

void CheckLogprobInputs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                        int64_t chunk_rows, const char* op) {
  TORCH_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1), op,
              ": hidden must be [N, d] and weight [V, d]; got ", hidden.sizes(), " and ", weight.sizes());
  TORCH_CHECK(at::isFloatingType(hidden.scalar_type()) && hidden.scalar_type() == weight.scalar_type(), op,
              ": hidden and weight need the same floating dtype; got ", hidden.scalar_type(), " and ",
              weight.scalar_type());
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == hidden.size(0) && targets.scalar_type() == at::kLong, op,
              ": targets must be int64 [N] with N = ", hidden.size(0), "; got ", targets.scalar_type(), " ",
              targets.sizes());
  TORCH_CHECK(hidden.device() == weight.device() && hidden.device() == targets.device(), op,
              ": hidden, weight and targets must be on one device");
  TORCH_CHECK(chunk_rows >= 0, op, ": chunk_rows must be >= 0, got ", chunk_rows);
}

int64_t ResolveChunkRows(int64_t requested, const at::Tensor& hidden, const at::Tensor& weight) {
  const int64_t n = hidden.size(0);
  return std::max<int64_t>(
      1, requested > 0 ? std::min(requested, n) : AutoChunkRows(n, hidden.size(1), weight.size(0)));
}

at::Tensor ChunkLogitsInto(const at::Tensor& hidden_chunk, const at::Tensor& weight, int64_t capacity_rows,
                           at::Tensor& buffer) {
  const at::ScalarType type = hidden_chunk.scalar_type();
  if (type != at::kFloat && type != at::kDouble) return ChunkLogits(hidden_chunk, weight);
  if (!buffer.defined()) buffer = at::empty({capacity_rows, weight.size(0)}, hidden_chunk.options());
  at::Tensor out = buffer.narrow(0, 0, hidden_chunk.size(0));
  at::mm_out(out, hidden_chunk, weight.t());
  return out;
}

bool UseVocabMajorChunks(const at::Tensor& hidden) {
  return hidden.device().is_cpu() && (hidden.scalar_type() == at::kFloat || hidden.scalar_type() == at::kDouble);
}

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
  if (RowKernelsCpuSupport(logits)) {
    RowStatsCpu(logits, targets.contiguous(), ignore_index, lse, logprob, entropy);
    return;
  }
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
  if (RowKernelsCpuSupport(logits)) {
    LogitGradInPlaceCpu(logits, lse.contiguous(), grad.to(logits.scalar_type()).contiguous(),
                        targets.contiguous(), ignore_index);
    return;
  }
  ChunkLogitGradInPlaceAten(logits, lse, grad, targets, ignore_index);
}

void ChunkRowStatsAndGradInPlace(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index,
                                 const at::Tensor& grad, at::Tensor lse, at::Tensor logprob, at::Tensor entropy) {
  if (RowKernelsCpuSupport(logits)) {
    RowStatsAndGradInPlaceCpu(logits, targets.contiguous(), ignore_index,
                              grad.to(logits.scalar_type()).contiguous(), lse, logprob, entropy);
    return;
  }
  ChunkRowStats(logits, targets, ignore_index, lse, logprob, entropy);
  ChunkLogitGradInPlace(logits, lse, grad, targets, ignore_index);
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
