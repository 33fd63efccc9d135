// Pair-based tasks: the Bradley–Terry reward model and DPO, on (prompt, chosen, rejected) pairs.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/train/sequence_forward.h"
#include "core/train/training_task.h"
#include "distributed/communicator.h"
#include "distributed/sharded_parameters.h"

namespace brain::train {

struct PreferencePair {
  Tokens prompt, chosen, rejected;  // responses end with EOS
  std::optional<double> margin;
};

// Rows p (chosen) and P + p (rejected) of a micro-batch of P pairs (objectives' pair layout).
TrainBatch PackPairs(const std::vector<PreferencePair>& pairs, const std::vector<int64_t>& units, int64_t pad_id);

// Bradley–Terry: the reward model's score of each row, with autograd, into inputs.rewards.
class RewardModelTask : public TrainingTask {
 public:
  RewardModelTask(std::shared_ptr<model::CausalLm> reward_model, std::vector<PreferencePair> pairs, int64_t pad_id);

  model::CausalLm& trained_model() override { return *model_; }
  int64_t UnitsPerRound() const override { return static_cast<int64_t>(pairs_.size()); }
  absl::StatusOr<int64_t> BeginRound(int64_t, const std::vector<int64_t>&) override { return UnitsPerRound(); }
  TrainBatch MakeBatch(const std::vector<int64_t>& units) override;
  void Forward(TrainBatch& batch) override;

 private:
  std::shared_ptr<model::CausalLm> model_;
  std::vector<PreferencePair> pairs_;
  int64_t pad_id_;
};

// DPO: policy token log-probs with autograd; reference log-probs computed once per pair (frozen model,
// inference mode) and cached. With `stage3_comm` (sharding stage 3) the reference is kept as per-rank
// shards and gathered once per round to score the pairs this rank trains on in it.
class DpoTask : public TrainingTask {
 public:
  DpoTask(std::shared_ptr<model::CausalLm> policy, std::shared_ptr<model::CausalLm> reference,
          std::vector<PreferencePair> pairs, int64_t pad_id, distributed::Communicator* stage3_comm = nullptr);

  model::CausalLm& trained_model() override { return *policy_; }
  int64_t UnitsPerRound() const override { return static_cast<int64_t>(pairs_.size()); }
  absl::StatusOr<int64_t> BeginRound(int64_t round, const std::vector<int64_t>& units) override;
  TrainBatch MakeBatch(const std::vector<int64_t>& units) override;
  void Forward(TrainBatch& batch) override;

 private:
  // Scores the pairs of `units` not yet in reference_cache_ under the reference model.
  void CacheReference(const std::vector<int64_t>& units, const TrainBatch* packed = nullptr);

  std::shared_ptr<model::CausalLm> policy_, reference_;
  std::unique_ptr<distributed::ShardedParameters> reference_shards_;  // stage 3 only
  std::vector<PreferencePair> pairs_;
  int64_t pad_id_;
  std::map<int64_t, std::pair<double, double>> reference_cache_;  // pair -> (chosen, rejected)
};

}  // namespace brain::train
