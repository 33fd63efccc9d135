// Packing rows for the training tasks.
#include "core/train/sequence_forward.h"

#include <torch/torch.h>

namespace brain::train {

void PackSequences(const std::vector<const Tokens*>& prompts, const std::vector<const Tokens*>& responses,
                   int64_t pad_id, TrainBatch* batch) {
  std::vector<Tokens> p, r;
  p.reserve(prompts.size());
  r.reserve(responses.size());
  for (const Tokens* t : prompts) p.push_back(*t);
  for (const Tokens* t : responses) r.push_back(*t);
  batch->packed = sampling::PackPromptResponses(p, r, pad_id);
  batch->inputs.mask = batch->packed.response_mask;
  batch->inputs.token_logprobs = torch::zeros(batch->packed.response_mask.sizes(), torch::kFloat);
  batch->tokens = batch->packed.attention_mask.sum().item<int64_t>();
}

torch::Tensor FrozenSequenceLogprobs(model::CausalLm& model, const TrainBatch& batch) {
  c10::InferenceMode inference;
  return sampling::ResponseTokenLogprobs(model, batch.packed).to(torch::kDouble).sum(1);
}

}  // namespace brain::train
