// WeightedTokenLogprobs on the CPU: live tokens gathered, vocabulary walked in vocab-major blocks.
#include "kernels/vocab_block_cpu.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "kernels/logprob_columns_cpu.h"

namespace brain::kernels::internal {
namespace {

// The tokens that take part, and their rows gathered contiguously.
struct LiveTokens {
  at::Tensor index;    // [live] int64
  at::Tensor hidden;   // [live, d]
  at::Tensor targets;  // [live]
};

// Every token when `all_tokens` (the entropy is wanted for ignored tokens too), else those not ignored.
LiveTokens GatherLive(const at::Tensor& hidden, const at::Tensor& targets, int64_t ignore_index, bool all_tokens) {
  LiveTokens live;
  if (all_tokens) {
    live.index = at::arange(targets.numel(), targets.options());
    live.hidden = hidden;
    live.targets = targets;
    return live;
  }
  live.index = targets.ne(ignore_index).nonzero().squeeze(1);
  live.hidden = hidden.index_select(0, live.index);
  live.targets = targets.index_select(0, live.index);
  return live;
}

// Calls body(first_row, logits_t [rows, live]) for each block of vocabulary rows, logits in one buffer.
template <typename Body>
void ForEachVocabBlock(const at::Tensor& weight, const at::Tensor& live_hidden, int64_t buffer_elements,
                       Body body) {
  const int64_t vocab = weight.size(0);
  const int64_t live = live_hidden.size(0);
  const int64_t block_rows = std::clamp<int64_t>(buffer_elements / live, 1, vocab);
  at::Tensor buffer = at::empty({block_rows * live}, live_hidden.options());
  for (int64_t first = 0; first < vocab; first += block_rows) {
    const int64_t rows = std::min(block_rows, vocab - first);
    at::Tensor logits_t = buffer.narrow(0, 0, rows * live).view({rows, live});
    at::mm_out(logits_t, weight.narrow(0, first, rows), live_hidden.t());
    body(first, logits_t);
  }
}

}  // namespace

void VocabBlockForwardCpu(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                          int64_t ignore_index, int64_t buffer_elements, at::Tensor lse, at::Tensor logprob,
                          at::Tensor entropy) {
  const LiveTokens live = GatherLive(hidden, targets, ignore_index, entropy.defined());
  const int64_t count = live.index.numel();
  if (count == 0) return;  // outputs stay 0
  ColumnSummary summary = EmptyColumnSummary(count, hidden.scalar_type());
  ForEachVocabBlock(weight, live.hidden, buffer_elements, [&](int64_t first, const at::Tensor& logits_t) {
    AccumulateColumnsCpu(logits_t, first, live.targets, entropy.defined(), summary);
  });
  const at::Tensor live_lse = at::empty({count}, lse.options());
  const at::Tensor live_logprob = at::empty({count}, logprob.options());
  const at::Tensor live_entropy = entropy.defined() ? at::empty({count}, entropy.options()) : at::Tensor();
  FinishColumns(summary, live.targets, ignore_index, live_lse, live_logprob, live_entropy);
  lse.index_copy_(0, live.index, live_lse);
  logprob.index_copy_(0, live.index, live_logprob);
  if (entropy.defined()) entropy.index_copy_(0, live.index, live_entropy);
}

LogprobGrads VocabBlockBackwardCpu(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                   const at::Tensor& lse, const at::Tensor& grad, int64_t ignore_index,
                                   int64_t buffer_elements, bool all_tokens, bool need_hidden,
                                   bool need_weight) {
  LogprobGrads out;
  if (need_hidden) out.hidden = at::zeros_like(hidden);
  // The forward's token set (not only those with grad ≠ 0): the same matmuls give the same logits.
  const LiveTokens live = GatherLive(hidden, targets, ignore_index, all_tokens);
  if (live.index.numel() == 0) {
    if (need_weight) out.weight = at::zeros_like(weight);
    return out;
  }
  if (need_weight) out.weight = at::empty_like(weight);  // every block of rows is written below
  const at::Tensor live_lse = lse.index_select(0, live.index);
  const at::Tensor live_grad = grad.index_select(0, live.index);
  at::Tensor grad_h = need_hidden ? at::zeros_like(live.hidden) : at::Tensor();
  ForEachVocabBlock(weight, live.hidden, buffer_elements, [&](int64_t first, const at::Tensor& logits_t) {
    at::Tensor g_t = logits_t;  // becomes g·(onehot − softmax)ᵀ in place
    ColumnLogitGradInPlaceCpu(g_t, live_lse, live_grad, live.targets, ignore_index, first);
    if (need_weight) {
      at::Tensor block = out.weight.narrow(0, first, g_t.size(0));
      at::mm_out(block, g_t, live.hidden);
    }
    if (need_hidden) grad_h.addmm_(g_t.t(), weight.narrow(0, first, g_t.size(0)));
  });
  if (need_hidden) out.hidden.index_copy_(0, live.index, grad_h);
  return out;
}

}  // namespace brain::kernels::internal
