// BrainTask: BRAIn's round loop (spec §3.5) — sample n per prompt from the frozen proposal, score with
// the reward model and the SFT prior, cache the round on disk, train on whole groups, refresh the
// proposal every K rounds.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/sampling/sampling_options.h"
#include "core/train/sample_cache.h"
#include "core/train/sequence_forward.h"
#include "core/train/training_task.h"
#include "distributed/communicator.h"
#include "distributed/sharded_parameters.h"
#include "proto/config.pb.h"

namespace brain::train {

struct BrainPrompt {
  Tokens prompt;
  std::optional<Tokens> reference;  // reference response (SIGMOID likelihood), ends with EOS
};

struct BrainModels {
  std::shared_ptr<model::CausalLm> policy;    // trained: q_θ
  std::shared_ptr<model::CausalLm> prior;     // frozen SFT model p
  std::shared_ptr<model::CausalLm> reward;    // frozen reward model r
  std::shared_ptr<model::CausalLm> proposal;  // frozen q' (starts as a copy of the policy)
};

// At sharding stage 3 the frozen models are kept as per-rank shards and gathered one at a time for the
// phase that uses them (sampling: the proposal; scoring: the prior, then the reward model).

class BrainTask : public TrainingTask {
 public:
  BrainTask(const config::ExperimentConfig& config, distributed::Communicator& comm, std::string run_dir,
            BrainModels models, std::vector<BrainPrompt> prompts, sampling::SamplingOptions sampling,
            int64_t pad_id);

  model::CausalLm& trained_model() override { return *models_.policy; }
  int64_t UnitsPerRound() const override;
  bool SharesUnitsAcrossRanks() const override { return sample_parallel_; }
  absl::StatusOr<int64_t> BeginRound(int64_t round, const std::vector<int64_t>& units) override;
  void EndRound(int64_t round) override;
  void ForgetRoundsBefore(int64_t round) override;
  TrainBatch MakeBatch(const std::vector<int64_t>& units) override;
  void Forward(TrainBatch& batch) override;
  std::map<std::string, torch::Tensor> ExtraModelTensors() override;
  absl::Status RestoreExtraModelTensors(const std::map<std::string, torch::Tensor>& tensors) override;
  std::map<std::string, double> RoundMetrics() override { return round_metrics_; }

  // The prompt index that fills slot `slot` of round `round`: consecutive rounds walk through seeded
  // permutations of the prompt set, one epoch after another.
  int64_t PromptOfSlot(int64_t round, int64_t slot) const;

 private:
  // Draws and scores the samples of `units` (slots of `round`) on this rank.
  absl::StatusOr<RoundSamples> SampleAndScore(int64_t round, const std::vector<int64_t>& units);
  void ComputeRoundMetrics(const RoundSamples& samples);
  // Sets the proposal's parameters to the policy's (which must hold them: not sharded, or gathered).
  void CopyPolicyToProposal();
  // Sets the proposal's parameters (into its shards at stage 3) from full tensors by name.
  absl::Status SetProposal(const std::map<std::string, torch::Tensor>& parameters);

  const config::ExperimentConfig& config_;
  distributed::Communicator& comm_;
  std::string run_dir_;
  BrainModels models_;
  // Stage 3 only: the frozen models' shards (null otherwise).
  std::unique_ptr<distributed::ShardedParameters> prior_shards_, reward_shards_, proposal_shards_;
  std::vector<BrainPrompt> prompts_;
  sampling::SamplingOptions sampling_;
  int64_t pad_id_;
  int64_t n_;                          // samples per group (all ranks)
  bool sample_parallel_;               // placement SAMPLE_PARALLEL: a group's samples spread over ranks
  std::vector<int64_t> my_samples_;    // the sample indices this rank draws of every group
  RoundSamples round_;                 // this rank's samples of the current round
  std::map<int64_t, int64_t> slot_row_;  // slot -> index of its first sample in round_
  std::map<std::string, double> round_metrics_;
};

}  // namespace brain::train
