// TrainingTask: what one algorithm (SFT, RM, DPO, BRAIn) supplies to the shared Trainer loop.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/causal_lm.h"
#include "core/objectives/objective.h"
#include "core/sampling/teacher_forcing.h"
#include "core/train/progress.h"

namespace brain::train {

// One micro-batch: the objective's inputs plus the packed token tensors the trained model's forward pass
// reads. MakeBatch fills placeholders (zeros) for the model-dependent fields so the trainer can count
// the step's units before any forward pass; Forward overwrites them with the real values.
struct TrainBatch {
  objectives::Batch inputs;
  std::vector<int64_t> units;
  sampling::PackedSequences packed;  // prompt + response rows, right-padded
  int64_t tokens = 0;                 // real tokens the forward pass processes (throughput)
};

// The trainer splits each round's units (demonstrations, pairs, BRAIn groups) over ranks with a seeded
// global permutation, groups a rank's units into micro-batches and calls MakeBatch then Forward for each.
// Rounds are epochs for the offline algorithms and sampling rounds for BRAIn.
class TrainingTask {
 public:
  virtual ~TrainingTask() = default;

  // The model whose parameters are trained.
  virtual model::CausalLm& trained_model() = 0;

  // Prepares round `round` and returns its global unit count. `units` is this rank's share, in the order
  // it will train on them (BRAIn samples and scores exactly these, or reloads them from the round's
  // cache in `run_dir` when a resumed run already drew them).
  virtual absl::StatusOr<int64_t> BeginRound(int64_t round, const std::vector<int64_t>& units) = 0;
  // The global unit count of a round before BeginRound (for planning); the same for every round.
  virtual int64_t UnitsPerRound() const = 0;
  // True when every rank trains on every unit, each holding its share of the unit's rows (BRAIn
  // SAMPLE_PARALLEL: a group's samples spread over ranks). The trainer then gives every rank all of a
  // round's units, counts groups once (MAX over ranks, not SUM) and hands the objective a group reducer.
  virtual bool SharesUnitsAcrossRanks() const { return false; }
  // Called once a round's last step is done (BRAIn refreshes its proposal every K rounds here).
  virtual void EndRound(int64_t /*round*/) {}
  // Called after each checkpoint with the first round a resume can start in (that of the oldest kept
  // checkpoint): state kept for earlier rounds may go (BRAIn deletes their sample cache).
  virtual void ForgetRoundsBefore(int64_t /*round*/) {}

  // A micro-batch of `units` (no grad yet; see TrainBatch).
  virtual TrainBatch MakeBatch(const std::vector<int64_t>& units) = 0;
  // Writes the trained model's outputs into batch.inputs, with autograd (token log-probs or rewards).
  virtual void Forward(TrainBatch& batch) = 0;

  // Parameters trained beside trained_model()'s (AVA's reward head); they join the optimiser.
  virtual std::vector<torch::Tensor> ExtraTrainedParameters() { return {}; }
  // Writes task-specific files into the finished run's HF export directory (AVA: the reward head).
  virtual absl::Status ExportExtras(const std::string& /*dir*/) { return absl::OkStatus(); }

  // Extra state for checkpoints: tensors saved with the model by rank 0 (e.g. BRAIn's proposal when it
  // lags the policy), restored before the first round of a resumed run. Collective: every rank calls
  // ExtraModelTensors (a stage-3 task gathers them); only rank 0's result is written.
  virtual std::map<std::string, torch::Tensor> ExtraModelTensors() { return {}; }
  virtual absl::Status RestoreExtraModelTensors(const std::map<std::string, torch::Tensor>& /*tensors*/) {
    return absl::OkStatus();
  }
  // Per-round metrics to log once (BRAIn: reward mean, ESS, KL of the round's samples).
  virtual std::map<std::string, double> RoundMetrics() { return {}; }

  // The trainer's phase timers, for work the task does itself (BRAIn: "sample", "score").
  void set_timers(PhaseTimers* timers) { timers_ = timers; }

 protected:
  PhaseTimers* timers_ = nullptr;
};

}  // namespace brain::train
