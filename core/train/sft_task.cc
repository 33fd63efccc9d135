// Supervised fine-tuning task.
#include "core/train/sft_task.h"

namespace brain::train {

SftTask::SftTask(std::shared_ptr<model::CausalLm> policy, std::vector<Demonstration> examples, int64_t pad_id)
    : policy_(std::move(policy)), examples_(std::move(examples)), pad_id_(pad_id) {}

TrainBatch SftTask::MakeBatch(const std::vector<int64_t>& units) {
  std::vector<const Tokens*> prompts, responses;
  for (int64_t u : units) {
    prompts.push_back(&examples_[u].prompt);
    responses.push_back(&examples_[u].response);
  }
  TrainBatch batch;
  batch.units = units;
  PackSequences(prompts, responses, pad_id_, &batch);
  return batch;
}

void SftTask::Forward(TrainBatch& batch) { batch.inputs.token_logprobs = sampling::ResponseTokenLogprobs(*policy_, batch.packed); }

}  // namespace brain::train
