// Packing (prompt, response) rows into a TrainBatch, and frozen-model sequence log-probs.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/model/causal_lm.h"
#include "core/sampling/teacher_forcing.h"
#include "core/train/training_task.h"

namespace brain::train {

using Tokens = sampling::TokenIds;

// Packs rows (prompt i + response i) into batch->packed, sets batch->inputs.mask to the response
// positions, placeholder zero token_logprobs of the same shape, and batch->tokens.
void PackSequences(const std::vector<const Tokens*>& prompts, const std::vector<const Tokens*>& responses,
                   int64_t pad_id, TrainBatch* batch);

// Per-row sums of the response log-probs of `batch` under a frozen model (inference mode): [B] fp64.
torch::Tensor FrozenSequenceLogprobs(model::CausalLm& model, const TrainBatch& batch);

}  // namespace brain::train
