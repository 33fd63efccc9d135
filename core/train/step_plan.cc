// Step planning over rounds, ranks and micro-batches.
#include "core/train/step_plan.h"

#include <algorithm>
#include <numeric>

#include "distributed/data_partition.h"

namespace brain::train {

StepPlan::StepPlan(const StepPlanOptions& options, int rank, int world_size)
    : options_(options), rank_(rank), world_size_(world_size) {
  const int64_t global_batch = std::max<int64_t>(1, options.micro_batch * options.accumulation * world_size);
  const int64_t pass = std::max<int64_t>(1, (options.units_per_round + global_batch - 1) / global_batch);
  steps_per_round_ = options.steps_per_round > 0 ? options.steps_per_round : pass;
  total_steps_ = options.max_steps > 0 ? options.max_steps : steps_per_round_ * std::max<int64_t>(1, options.rounds);
}

std::vector<int64_t> StepPlan::RankUnits(int64_t round) const {
  std::vector<int64_t> order;
  if (options_.shuffle) {
    order = distributed::GlobalPermutation(options_.units_per_round, options_.seed, static_cast<uint64_t>(round));
  } else {
    order.resize(options_.units_per_round);
    std::iota(order.begin(), order.end(), 0);
  }
  return distributed::RankShare(order, rank_, world_size_);
}

std::vector<std::vector<int64_t>> StepPlan::MicroBatches(int64_t step, const std::vector<int64_t>& rank_units) const {
  std::vector<std::vector<int64_t>> batches;
  if (rank_units.empty()) return batches;
  const int64_t per_step = options_.micro_batch * options_.accumulation;
  // Where the round's global batches run out, the last step is partial; steps beyond a full pass wrap.
  const int64_t global_units = options_.units_per_round;
  const int64_t global_batch = per_step * world_size_;
  const int64_t pass = std::max<int64_t>(1, (global_units + global_batch - 1) / global_batch);
  const int64_t in_pass = StepInRound(step) % pass;
  const int64_t begin = in_pass * per_step;
  const int64_t end = std::min<int64_t>(begin + per_step, static_cast<int64_t>(rank_units.size()));
  for (int64_t b = begin; b < end; b += options_.micro_batch) {
    const int64_t e = std::min<int64_t>(b + options_.micro_batch, end);
    batches.emplace_back(rank_units.begin() + b, rank_units.begin() + e);
  }
  return batches;
}

}  // namespace brain::train
