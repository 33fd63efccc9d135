// Helpers shared by the objectives to read a Batch: sequence sums, masks, non-finite detection, counts.
#include "core/objectives/batch_tensors.h"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>

namespace brain::objectives {

torch::Tensor MaskAs(const Batch& batch, const torch::Tensor& like) {
  if (!batch.mask.defined()) return torch::ones_like(like);
  return batch.mask.to(like.scalar_type());
}

torch::Tensor SequenceLogprobs(const Batch& batch) {
  if (batch.sequence_logprobs.defined()) return batch.sequence_logprobs;
  Require(batch.token_logprobs, "objective", "token_logprobs or sequence_logprobs");
  // Masked positions may hold garbage (even NaN): select rather than multiply.
  const torch::Tensor m = MaskAs(batch, batch.token_logprobs) > 0;
  return torch::where(m, batch.token_logprobs, torch::zeros_like(batch.token_logprobs)).sum(1);
}

torch::Tensor IsBad(const torch::Tensor& values) {
  const torch::Tensor v = values.detach();
  return torch::isnan(v) | torch::isposinf(v);
}

torch::Tensor BadSequences(const torch::Tensor& token_values, const torch::Tensor& mask) {
  torch::Tensor bad = IsBad(token_values);
  while (bad.dim() > 2) bad = bad.any(-1);
  if (mask.defined()) bad = bad & (mask > 0);
  return bad.any(1);
}

void Require(const torch::Tensor& tensor, const std::string& objective, const std::string& field) {
  if (!tensor.defined()) {
    throw std::invalid_argument(objective + ": the batch has no `" + field + "` tensor");
  }
}

double Normaliser(int64_t global_count, int64_t local_count) {
  return static_cast<double>(std::max<int64_t>(1, global_count > 0 ? global_count : local_count));
}

}  // namespace brain::objectives
