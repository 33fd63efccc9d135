// Chunked forward/backward of WeightedTokenLogprobs as a torch::autograd::Function, dispatched by device.
#include "kernels/weighted_token_logprobs.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>
#include <vector>

#include "kernels/logprob_chunk_ops.h"
#include "kernels/vocab_block_cpu.h"

namespace brain::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using internal::ActiveChunks;
using internal::WorkingType;

constexpr char kOp[] = "WeightedTokenLogprobs";

class WeightedTokenLogprobsFunction : public torch::autograd::Function<WeightedTokenLogprobsFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, int64_t ignore_index, int64_t chunk_rows,
                               bool compute_entropy) {
    const int64_t n = hidden.size(0);
    const std::vector<bool> active = ActiveChunks(targets, weight.size(0), ignore_index, chunk_rows, kOp);
    const auto options = hidden.options().dtype(WorkingType(hidden.scalar_type()));
    at::Tensor logprob = at::zeros({n}, options);
    at::Tensor lse = at::zeros({n}, options);
    at::Tensor entropy = compute_entropy ? at::zeros({n}, options) : at::Tensor();
    if (internal::UseVocabMajorChunks(hidden)) {  // fp32/fp64 CPU
      internal::VocabBlockForwardCpu(hidden, weight, targets, ignore_index, chunk_rows * weight.size(0), lse,
                                     logprob, entropy);
    } else {
      at::Tensor buffer;  // one [chunk_rows, V] logits scratch reused by every chunk
      for (size_t c = 0; c < active.size(); ++c) {
        if (!active[c]) continue;
        const int64_t start = static_cast<int64_t>(c) * chunk_rows;
        const int64_t rows = std::min(chunk_rows, n - start);
        at::Tensor logits =
            internal::ChunkLogitsInto(hidden.narrow(0, start, rows), weight, chunk_rows, buffer);
        internal::ChunkRowStats(logits, targets.narrow(0, start, rows), ignore_index,
                                lse.narrow(0, start, rows), logprob.narrow(0, start, rows),
                                compute_entropy ? entropy.narrow(0, start, rows) : at::Tensor());
      }
    }
    ctx->save_for_backward({hidden, weight, targets, lse});
    ctx->saved_data["ignore_index"] = ignore_index;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    ctx->saved_data["compute_entropy"] = compute_entropy;
    if (!compute_entropy) return {logprob};
    ctx->mark_non_differentiable({entropy});
    return {logprob, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& hidden = saved[0];
    const at::Tensor& weight = saved[1];
    const at::Tensor& targets = saved[2];
    const at::Tensor& lse = saved[3];
    const int64_t ignore_index = ctx->saved_data["ignore_index"].toInt();
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const bool need_hidden = ctx->needs_input_grad(0);
    const bool need_weight = ctx->needs_input_grad(1);
    variable_list grads(6);
    const at::Tensor& grad_logprob = grad_outputs[0];
    if (!grad_logprob.defined() || !(need_hidden || need_weight)) return grads;

    const int64_t n = hidden.size(0);
    const at::ScalarType work = WorkingType(hidden.scalar_type());
    const at::Tensor grad = grad_logprob.to(work).contiguous();
    if (internal::UseVocabMajorChunks(hidden)) {  // fp32/fp64 CPU
      internal::LogprobGrads grads_cpu = internal::VocabBlockBackwardCpu(
          hidden, weight, targets, lse, grad, ignore_index, chunk_rows * weight.size(0),
          /*all_tokens=*/ctx->saved_data["compute_entropy"].toBool(), need_hidden, need_weight);
      grads[0] = grads_cpu.hidden;
      grads[1] = grads_cpu.weight;
      return grads;
    }
    const std::vector<bool> active = ActiveChunks(targets, weight.size(0), ignore_index, chunk_rows, kOp);
    at::Tensor grad_hidden = need_hidden ? at::zeros_like(hidden) : at::Tensor();
    // fp32 accumulation across chunks even for bf16/fp16 weights (bf16 sums drift).
    at::Tensor grad_weight_acc =
        need_weight ? at::zeros(weight.sizes(), weight.options().dtype(work)) : at::Tensor();
    at::Tensor buffer;
    for (size_t c = 0; c < active.size(); ++c) {
      if (!active[c]) continue;
      const int64_t start = static_cast<int64_t>(c) * chunk_rows;
      const int64_t rows = std::min(chunk_rows, n - start);
      const at::Tensor hidden_chunk = hidden.narrow(0, start, rows);
      // Recomputed, never stored.
      at::Tensor grad_logits = internal::ChunkLogitsInto(hidden_chunk, weight, chunk_rows, buffer);
      internal::ChunkLogitGradInPlace(grad_logits, lse.narrow(0, start, rows), grad.narrow(0, start, rows),
                                      targets.narrow(0, start, rows), ignore_index);
      if (need_hidden) {
        at::Tensor out = grad_hidden.narrow(0, start, rows);
        if (grad_logits.scalar_type() == weight.scalar_type()) {
          at::mm_out(out, grad_logits, weight);
        } else {
          out.copy_(at::mm(grad_logits.to(weight.scalar_type()), weight));
        }
      }
      if (need_weight) grad_weight_acc.addmm_(grad_logits.t(), hidden_chunk.to(work));
    }
    grads[0] = grad_hidden;
    if (need_weight) grads[1] = grad_weight_acc.to(weight.scalar_type());
    return grads;
  }
};

}  // namespace

int64_t AutoChunkRows(int64_t num_tokens, int64_t hidden_dim, int64_t vocab_size) {
  const int64_t by_size = (num_tokens * hidden_dim + vocab_size - 1) / std::max<int64_t>(vocab_size, 1);
  return std::max<int64_t>(1, std::min(num_tokens, std::max(by_size, kMinAutoChunkRows)));
}

TokenLogprobs WeightedTokenLogprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                    const at::Tensor& targets, int64_t ignore_index,
                                    const WeightedLogprobOptions& options) {
  internal::CheckLogprobInputs(hidden, weight, targets, options.chunk_rows, kOp);
  const int64_t chunk_rows = internal::ResolveChunkRows(options.chunk_rows, hidden, weight);
  const variable_list result =
      WeightedTokenLogprobsFunction::apply(hidden.contiguous(), weight.contiguous(), targets.contiguous(),
                                           ignore_index, chunk_rows, options.compute_entropy);
  TokenLogprobs out;
  out.logprob = result[0];
  if (options.compute_entropy) out.entropy = result[1];
  return out;
}

}  // namespace brain::kernels
