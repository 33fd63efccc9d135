// Objective: the interface every training objective implements (loss, gradient weights, metrics).
#ifndef BRAIN_CORE_OBJECTIVES_OBJECTIVE_H_
#define BRAIN_CORE_OBJECTIVES_OBJECTIVE_H_

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "core/objectives/group_reducer.h"

namespace brain::objectives {

// The tensors the trainer hands an objective for one micro-batch. Objectives never see models; each
// reads only the fields it needs (see README.md for which). Sequence-indexed tensors have S rows.
// Pair objectives (reward model, DPO, AVA-p) use the layout: pair p = (chosen row p, rejected row P + p).
struct Batch {
  // ---- per response token, padded [S, T]; mask is 1 on response tokens (EOS included), 0 elsewhere.
  torch::Tensor token_logprobs;  // log π_θ(y_k | x, y_<k), fp32 (or fp64 in tests), with grad
  torch::Tensor mask;            // [S, T] bool or float
  // ---- per sequence [S]
  torch::Tensor sequence_logprobs;   // optional Σ_k log π_θ; when undefined, summed from token_logprobs
  torch::Tensor reference_logprobs;  // DPO: log π_ref(y), cached before training
  torch::Tensor rewards;             // reward model outputs r(x, y) (BT: with grad); BRAIn: cached r
  torch::Tensor margins;             // BT: per-pair margins [P] from data (optional)
  // ---- BRAIn group data [S]
  torch::Tensor group_ids;          // int64 group of each sample in [0, num_groups), common across ranks
  int64_t num_groups = 0;           // groups in this micro-batch (0: 1 + max(group_ids))
  torch::Tensor sample_index;       // int64 index of the sample within its group (ARGMAX ties); optional
  torch::Tensor prior_logprobs;     // log p(y|x), frozen SFT model, cached
  torch::Tensor proposal_logprobs;  // log q'(y|x), recorded at sampling time
  torch::Tensor reference_rewards;  // r_ref(x) repeated per sample (SIGMOID likelihood)
  torch::Tensor alpha;              // optional cached α̂ for the round; computed from a when undefined
  // ---- AVA (transition t of a response reads the logits at the position before y_t)
  torch::Tensor q_values;            // [S, T] Q_t, already computed (e.g. fused kernel on α-scaled logits)
  torch::Tensor q_logits;            // [S, T, V] logits before each response token (when q_values undefined)
  torch::Tensor target_ids;          // [S, T] int64 response tokens y_t (with q_logits)
  torch::Tensor reward_mu;           // reward head mean: [S, L] over positions, or [S, T] per transition
  torch::Tensor reward_log_sigma;    // reward head log σ, same shape as reward_mu (clamped to [−5, 5])
  torch::Tensor response_positions;  // [S, T] int64 position of y_t in the L positions (when [S, L])
  torch::Tensor attention;           // [S, L, L] last layer's causal attention, averaged over heads
  torch::Tensor reward_weights;      // [S, L] w_j already reduced from `attention` (the model computes it)
  torch::Tensor attention_mask;      // [S, L] 1 on non-pad query positions
};

// Counts of units in an optimiser step. The trainer sums CountUnits() over micro-batches and
// all-reduces over ranks (SUM; under BRAIn SAMPLE_PARALLEL the group count is the same on every rank,
// so `groups` is reduced with MAX), then passes the result in StepContext::global.
struct UnitCounts {
  int64_t tokens = 0;
  int64_t sequences = 0;
  int64_t pairs = 0;
  int64_t groups = 0;
};

// What the trainer knows about the whole optimiser step.
struct StepContext {
  // Global normalisers (spec §1). A zero field means "this micro-batch alone" (one rank, no accumulation).
  UnitCounts global;
  // Cross-rank reductions for groups spread over ranks; nullptr = one rank (identity).
  const GroupReducer* reducer = nullptr;
};

struct ObjectiveOutput {
  // This rank's share of the global loss; backward() of it gives the objective's gradient.
  torch::Tensor loss;
  // Weighted-log-likelihood objectives: ∂loss/∂(Σ_k log π_θ of sequence s), shape [S], fp64. It is the
  // per-token gradient weight of every response token of sequence s (what a fused kernel's backward
  // consumes). Undefined for objectives that are not linear in the sequence log-probs (AVA).
  torch::Tensor sequence_weights;
  std::map<std::string, double> metrics;
};

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string Name() const = 0;
  // Units of this micro-batch that enter the loss (dropped, non-finite units excluded).
  virtual UnitCounts CountUnits(const Batch& batch, const StepContext& context) const = 0;
  virtual ObjectiveOutput Compute(const Batch& batch, const StepContext& context) const = 0;
};

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_OBJECTIVE_H_
