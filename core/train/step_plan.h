// StepPlan: which units each rank trains on at each optimiser step (rounds, steps, micro-batches).
#pragma once

#include <cstdint>
#include <vector>

namespace brain::train {

// A round's units are permuted by a seeded global permutation and dealt to ranks strided
// (distributed::RankShare), so a step's global batch is the same set of units for any rank count.
// Each rank trains on micro_batch × accumulation of its units per step.
struct StepPlanOptions {
  int64_t units_per_round = 0;
  int64_t micro_batch = 1;
  int64_t accumulation = 1;
  int64_t steps_per_round = 0;  // 0 = one pass over the round's units
  int64_t rounds = 1;           // used when max_steps = 0
  int64_t max_steps = 0;        // 0 = rounds × steps_per_round
  bool shuffle = true;
  uint64_t seed = 0;
};

class StepPlan {
 public:
  StepPlan(const StepPlanOptions& options, int rank, int world_size);

  int64_t steps_per_round() const { return steps_per_round_; }
  int64_t total_steps() const { return total_steps_; }
  int64_t RoundOf(int64_t step) const { return step / steps_per_round_; }
  int64_t StepInRound(int64_t step) const { return step % steps_per_round_; }

  // This rank's units of `round`, in training order.
  std::vector<int64_t> RankUnits(int64_t round) const;
  // This rank's micro-batches at `step` (units of RankUnits(RoundOf(step)); a step past the end of the
  // round's units wraps around to its start). May be empty on some ranks when units are few.
  std::vector<std::vector<int64_t>> MicroBatches(int64_t step, const std::vector<int64_t>& rank_units) const;

 private:
  StepPlanOptions options_;
  int rank_, world_size_;
  int64_t steps_per_round_ = 1;
  int64_t total_steps_ = 0;
};

}  // namespace brain::train
