// WeightedLogprobSum: gradients computed in the forward, chunk by chunk; the backward scales them.
#include "kernels/weighted_logprob_sum.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>
#include <vector>

#include "kernels/logprob_chunk_ops.h"

namespace brain::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr char kOp[] = "WeightedLogprobSum";

// Outputs: loss (scalar), logprob [N] and entropy [N] (both non-differentiable).
class WeightedLogprobSumFunction : public torch::autograd::Function<WeightedLogprobSumFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, const at::Tensor& token_weights, int64_t ignore_index,
                               int64_t chunk_rows, bool compute_entropy, bool need_hidden, bool need_weight) {
    const int64_t n = hidden.size(0);
    const at::ScalarType work = internal::WorkingType(hidden.scalar_type());
    const auto options = hidden.options().dtype(work);
    const std::vector<bool> active = internal::ActiveChunks(targets, weight.size(0), ignore_index, chunk_rows, kOp);
    const at::Tensor g = token_weights.detach().to(options).contiguous();
    at::Tensor logprob = at::zeros({n}, options);
    at::Tensor lse = at::zeros({n}, options);
    at::Tensor entropy = compute_entropy ? at::zeros({n}, options) : at::Tensor();
    at::Tensor grad_hidden = need_hidden ? at::zeros({n, hidden.size(1)}, options) : at::Tensor();
    // fp32 accumulation across chunks even for bf16/fp16 weights (bf16 sums drift).
    at::Tensor grad_weight = need_weight ? at::zeros(weight.sizes(), options) : at::Tensor();
    const bool need_grad = need_hidden || need_weight;
    at::Tensor buffer;  // one [chunk_rows, V] logits scratch reused by every chunk
    for (size_t c = 0; c < active.size(); ++c) {
      if (!active[c]) continue;
      const int64_t start = static_cast<int64_t>(c) * chunk_rows;
      const int64_t rows = std::min(chunk_rows, n - start);
      const at::Tensor hidden_chunk = hidden.narrow(0, start, rows);
      const at::Tensor targets_chunk = targets.narrow(0, start, rows);
      at::Tensor logits = internal::ChunkLogitsInto(hidden_chunk, weight, chunk_rows, buffer);
      at::Tensor entropy_chunk = compute_entropy ? entropy.narrow(0, start, rows) : at::Tensor();
      if (!need_grad) {
        internal::ChunkRowStats(logits, targets_chunk, ignore_index, lse.narrow(0, start, rows),
                                logprob.narrow(0, start, rows), entropy_chunk);
        continue;
      }
      // logits ← ∂(Σ_r g_r·logprob_r)/∂logits = g·(onehot − softmax), after the row statistics.
      internal::ChunkRowStatsAndGradInPlace(logits, targets_chunk, ignore_index, g.narrow(0, start, rows),
                                            lse.narrow(0, start, rows), logprob.narrow(0, start, rows),
                                            entropy_chunk);
      if (need_hidden) {
        at::Tensor out = grad_hidden.narrow(0, start, rows);
        if (weight.scalar_type() == work) {
          at::mm_out(out, logits, weight);
        } else {
          out.copy_(at::mm(logits.to(weight.scalar_type()), weight));
        }
      }
      if (need_weight) grad_weight.addmm_(logits.t(), hidden_chunk.to(work));
    }
    at::Tensor loss = at::dot(g, logprob);
    ctx->save_for_backward({grad_hidden, grad_weight, logprob});
    ctx->saved_data["hidden_type"] = static_cast<int64_t>(hidden.scalar_type());
    ctx->saved_data["weights_type"] = static_cast<int64_t>(token_weights.scalar_type());
    ctx->mark_non_differentiable(compute_entropy ? variable_list{logprob, entropy} : variable_list{logprob});
    return compute_entropy ? variable_list{loss, logprob, entropy} : variable_list{loss, logprob};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const auto input_type = static_cast<at::ScalarType>(ctx->saved_data["hidden_type"].toInt());
    variable_list grads(9);
    const at::Tensor& grad_loss = grad_outputs[0];
    if (!grad_loss.defined()) return grads;
    const at::Tensor scale = grad_loss.to(saved[2].scalar_type());
    if (ctx->needs_input_grad(0) && saved[0].defined()) grads[0] = (saved[0] * scale).to(input_type);
    if (ctx->needs_input_grad(1) && saved[1].defined()) grads[1] = (saved[1] * scale).to(input_type);
    if (ctx->needs_input_grad(3)) {
      grads[3] = (saved[2] * scale).to(static_cast<at::ScalarType>(ctx->saved_data["weights_type"].toInt()));
    }
    return grads;
  }
};

}  // namespace

WeightedLogprobSumResult WeightedLogprobSum(const at::Tensor& hidden, const at::Tensor& weight,
                                            const at::Tensor& targets, const at::Tensor& token_weights,
                                            int64_t ignore_index, const WeightedLogprobOptions& options) {
  internal::CheckLogprobInputs(hidden, weight, targets, options.chunk_rows, kOp);
  TORCH_CHECK(token_weights.dim() == 1 && token_weights.size(0) == hidden.size(0) &&
                  at::isFloatingType(token_weights.scalar_type()),
              kOp, ": token_weights must be a floating [N] tensor with N = ", hidden.size(0), "; got ",
              token_weights.scalar_type(), " ", token_weights.sizes());
  TORCH_CHECK(token_weights.device() == hidden.device(), kOp, ": token_weights must be on the device of hidden");
  const int64_t chunk_rows = internal::ResolveChunkRows(options.chunk_rows, hidden, weight);
  const bool grad_mode = at::GradMode::is_enabled();
  const variable_list result = WeightedLogprobSumFunction::apply(
      hidden.contiguous(), weight.contiguous(), targets.contiguous(), token_weights, ignore_index, chunk_rows,
      options.compute_entropy, grad_mode && hidden.requires_grad(), grad_mode && weight.requires_grad());
  WeightedLogprobSumResult out;
  out.loss = result[0];
  out.logprob = result[1];
  if (options.compute_entropy) out.entropy = result[2];
  return out;
}

}  // namespace brain::kernels
