// SftTask: supervised fine-tuning on (prompt, response) demonstrations.
#pragma once

#include <memory>
#include <vector>

#include "core/train/sequence_forward.h"
#include "core/train/training_task.h"

namespace brain::train {

struct Demonstration {
  Tokens prompt, response;  // response ends with EOS
};

class SftTask : public TrainingTask {
 public:
  SftTask(std::shared_ptr<model::CausalLm> policy, std::vector<Demonstration> examples, int64_t pad_id);

  model::CausalLm& trained_model() override { return *policy_; }
  int64_t UnitsPerRound() const override { return static_cast<int64_t>(examples_.size()); }
  absl::StatusOr<int64_t> BeginRound(int64_t, const std::vector<int64_t>&) override { return UnitsPerRound(); }
  TrainBatch MakeBatch(const std::vector<int64_t>& units) override;
  void Forward(TrainBatch& batch) override;

 private:
  std::shared_ptr<model::CausalLm> policy_;
  std::vector<Demonstration> examples_;
  int64_t pad_id_;
};

}  // namespace brain::train
