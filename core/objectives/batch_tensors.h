// Helpers shared by the objectives to read a Batch: sequence sums, masks, non-finite detection, counts.
#ifndef BRAIN_CORE_OBJECTIVES_BATCH_TENSORS_H_
#define BRAIN_CORE_OBJECTIVES_BATCH_TENSORS_H_

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "core/objectives/objective.h"

namespace brain::objectives {

// Σ_k log π_θ per sequence [S] (never length-normalised): batch.sequence_logprobs if defined, else the
// masked sum of batch.token_logprobs. Keeps the input dtype and the autograd graph.
torch::Tensor SequenceLogprobs(const Batch& batch);

// The response mask in the dtype of `like` (1 = response token).
torch::Tensor MaskAs(const Batch& batch, const torch::Tensor& like);

// Elementwise NaN or +∞ (the spec's "bad input"); −∞ is a legitimate log-probability.
torch::Tensor IsBad(const torch::Tensor& values);

// Per sequence [S] bool: any response token of `token_values` [S, T] (or [S, T, V]) is NaN or +∞.
torch::Tensor BadSequences(const torch::Tensor& token_values, const torch::Tensor& mask);

// Throws std::invalid_argument naming the objective and the field when `tensor` is undefined.
void Require(const torch::Tensor& tensor, const std::string& objective, const std::string& field);

// Normaliser: the global count when set (> 0), else the local one, as a double (at least 1).
double Normaliser(int64_t global_count, int64_t local_count);

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_BATCH_TENSORS_H_
