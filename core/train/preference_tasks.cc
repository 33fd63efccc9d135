// Reward-model and DPO tasks.
#include "core/train/preference_tasks.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/train/sharded_causal_lm.h"

namespace brain::train {

TrainBatch PackPairs(const std::vector<PreferencePair>& pairs, const std::vector<int64_t>& units, int64_t pad_id) {
  std::vector<const Tokens*> prompts, responses;
  for (int64_t u : units) {
    prompts.push_back(&pairs[u].prompt);
    responses.push_back(&pairs[u].chosen);
  }
  for (int64_t u : units) {
    prompts.push_back(&pairs[u].prompt);
    responses.push_back(&pairs[u].rejected);
  }
  TrainBatch batch;
  batch.units = units;
  PackSequences(prompts, responses, pad_id, &batch);
  return batch;
}

RewardModelTask::RewardModelTask(std::shared_ptr<model::CausalLm> reward_model, std::vector<PreferencePair> pairs,
                                 int64_t pad_id)
    : model_(std::move(reward_model)), pairs_(std::move(pairs)), pad_id_(pad_id) {}

TrainBatch RewardModelTask::MakeBatch(const std::vector<int64_t>& units) {
  TrainBatch batch = PackPairs(pairs_, units, pad_id_);
  const int64_t rows = batch.packed.input_ids.size(0);
  batch.inputs.rewards = torch::zeros({rows}, torch::kFloat);
  std::vector<double> margins;
  bool any_margin = false;
  for (int64_t u : units) {
    margins.push_back(pairs_[u].margin.value_or(0.0));
    any_margin = any_margin || pairs_[u].margin.has_value();
  }
  if (any_margin) batch.inputs.margins = torch::tensor(margins, torch::kDouble);
  return batch;
}

void RewardModelTask::Forward(TrainBatch& batch) {
  const sampling::PackedSequences& p = batch.packed;
  torch::Tensor hidden = model_->Forward(p.input_ids, p.attention_mask);
  batch.inputs.rewards = model_->Score(hidden, p.attention_mask).select(1, 0).to(torch::kFloat);
}

DpoTask::DpoTask(std::shared_ptr<model::CausalLm> policy, std::shared_ptr<model::CausalLm> reference,
                 std::vector<PreferencePair> pairs, int64_t pad_id, distributed::Communicator* stage3_comm)
    : policy_(std::move(policy)), reference_(std::move(reference)), pairs_(std::move(pairs)), pad_id_(pad_id) {
  if (stage3_comm != nullptr) reference_shards_ = distributed::ShardFrozen(*reference_, *stage3_comm);
}

absl::StatusOr<int64_t> DpoTask::BeginRound(int64_t /*round*/, const std::vector<int64_t>& units) {
  if (reference_shards_) {
    constexpr size_t kPairsPerForward = 16;
    distributed::GatheredParameters gathered(reference_shards_.get());
    for (size_t b = 0; b < units.size(); b += kPairsPerForward) {
      CacheReference({units.begin() + b, units.begin() + std::min(units.size(), b + kPairsPerForward)});
    }
  }
  return UnitsPerRound();
}

void DpoTask::CacheReference(const std::vector<int64_t>& units, const TrainBatch* packed) {
  std::vector<int64_t> missing;
  for (int64_t u : units) {
    if (!reference_cache_.count(u)) missing.push_back(u);
  }
  if (missing.empty()) return;
  // At stage 3 BeginRound cached every pair of the round while the reference was gathered.
  TORCH_CHECK(!reference_shards_ || reference_shards_->gathered(0), "DPO reference scored while sharded");
  const TrainBatch fresh =
      packed != nullptr && missing.size() == units.size() ? *packed : PackPairs(pairs_, missing, pad_id_);
  const torch::Tensor lp = FrozenSequenceLogprobs(*reference_, fresh);
  const int64_t m = static_cast<int64_t>(missing.size());
  for (int64_t i = 0; i < m; ++i) reference_cache_[missing[i]] = {lp[i].item<double>(), lp[m + i].item<double>()};
}

TrainBatch DpoTask::MakeBatch(const std::vector<int64_t>& units) {
  TrainBatch batch = PackPairs(pairs_, units, pad_id_);
  const int64_t p = static_cast<int64_t>(units.size());
  CacheReference(units, &batch);
  std::vector<double> reference(2 * p);
  for (int64_t i = 0; i < p; ++i) {
    reference[i] = reference_cache_.at(units[i]).first;
    reference[p + i] = reference_cache_.at(units[i]).second;
  }
  batch.inputs.reference_logprobs = torch::tensor(reference, torch::kDouble);
  return batch;
}

void DpoTask::Forward(TrainBatch& batch) { batch.inputs.token_logprobs = sampling::ResponseTokenLogprobs(*policy_, batch.packed); }

}  // namespace brain::train
