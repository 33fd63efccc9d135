// AvaTask: AVA (spec §4) — a TQR model (the policy's backbone, its LM head as the Q head, or with
// q_form FRESH_HEAD a new linear Q head, and a Gaussian reward head) trained on demonstrations (AVA-d)
// or preference pairs (AVA-p).
#pragma once

#include <memory>
#include <vector>

#include "core/model/ava_reward_head.h"
#include "core/train/preference_tasks.h"
#include "core/train/sft_task.h"
#include "core/train/training_task.h"
#include "proto/config.pb.h"

namespace brain::train {

class AvaTask : public TrainingTask {
 public:
  // AVA-d trains on `demonstrations`, AVA-p on `pairs` (rows p chosen, P + p rejected).
  // `seed` initialises the FRESH_HEAD Q head (N(0, 0.02²), as a new LM head).
  AvaTask(const config::AvaConfig& config, std::shared_ptr<model::CausalLm> policy,
          std::vector<Demonstration> demonstrations, std::vector<PreferencePair> pairs, int64_t pad_id,
          uint64_t seed);

  model::CausalLm& trained_model() override { return *policy_; }
  int64_t UnitsPerRound() const override;
  absl::StatusOr<int64_t> BeginRound(int64_t, const std::vector<int64_t>&) override { return UnitsPerRound(); }
  TrainBatch MakeBatch(const std::vector<int64_t>& units) override;
  void Forward(TrainBatch& batch) override;

  // The reward head (and the FRESH_HEAD Q head) train with the policy and are checkpointed beside it
  // ("ava_reward_head.*", "ava_q_head.weight").
  std::vector<torch::Tensor> ExtraTrainedParameters() override;
  std::map<std::string, torch::Tensor> ExtraModelTensors() override;
  absl::Status RestoreExtraModelTensors(const std::map<std::string, torch::Tensor>& tensors) override;
  // Writes DIR/ava_reward_head.safetensors (and DIR/ava_q_head.safetensors) next to the exported LM.
  absl::Status ExportExtras(const std::string& dir) override;

 private:
  bool Pairwise() const { return config_.mode() == config::AvaConfig::AVA_P; }
  bool Weighted() const;

  config::AvaConfig config_;
  std::shared_ptr<model::CausalLm> policy_;
  model::AvaRewardHead head_;
  torch::Tensor q_head_;  // FRESH_HEAD only: [V, d], the Q head in place of the LM head
  std::vector<Demonstration> demonstrations_;
  std::vector<PreferencePair> pairs_;
  int64_t pad_id_;
};

}  // namespace brain::train
