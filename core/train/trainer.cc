// The shared optimiser-step loop.
#include "core/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/objectives/communicator_group_reducer.h"
#include "core/train/metrics_reduction.h"
#include "core/train/policy_optimizer.h"
#include "core/train/preemption.h"
#include "core/train/sharded_causal_lm.h"
#include "core/train/step_plan.h"
#include "core/train/trainer_checkpoint.h"
#include "core/train/trainer_observer.h"
#include "distributed/global_normalizers.h"

namespace brain::train {
namespace {

using WallClock = std::chrono::steady_clock;

double Seconds(WallClock::time_point since) {
  return std::chrono::duration<double>(WallClock::now() - since).count();
}

// The step's unit counts summed over micro-batches and ranks (spec §1 global normalisers). When the
// ranks share units (each holds part of every group), groups are counted once: MAX over ranks.
objectives::UnitCounts GlobalCounts(distributed::Communicator& comm, const objectives::Objective& objective,
                                    const std::vector<TrainBatch>& batches, const objectives::StepContext& context,
                                    bool shared_units) {
  torch::Tensor counts = torch::zeros({4}, torch::kDouble);
  for (const auto& batch : batches) {
    const objectives::UnitCounts c = objective.CountUnits(batch.inputs, context);
    counts += torch::tensor({static_cast<double>(c.tokens), static_cast<double>(c.sequences),
                             static_cast<double>(c.pairs), static_cast<double>(c.groups)},
                            torch::kDouble);
  }
  torch::Tensor groups = counts.narrow(0, 3, 1).clone();
  comm.AllReduce(counts, distributed::ReduceOp::kSum);
  if (shared_units) {
    comm.AllReduce(groups, distributed::ReduceOp::kMax);
    counts[3] = groups[0];
  }
  auto* c = counts.data_ptr<double>();
  return {static_cast<int64_t>(c[0]), static_cast<int64_t>(c[1]), static_cast<int64_t>(c[2]),
          static_cast<int64_t>(c[3])};
}

double GlobalMax(distributed::Communicator& comm, double local) {
  torch::Tensor value = torch::tensor({local}, torch::kDouble);
  comm.AllReduce(value, distributed::ReduceOp::kMax);
  return value.item<double>();
}

// Every rank agrees to stop when any rank was asked to.
bool AgreeOnPreemption(distributed::Communicator& comm, bool local) { return GlobalMax(comm, local ? 1 : 0) > 0; }

}  // namespace

absl::StatusOr<TrainerResult> RunTrainer(const config::ExperimentConfig& config, distributed::Communicator& comm,
                                         TrainingTask& task, const objectives::Objective& objective,
                                         const TrainerOptions& options) {
  const auto start = WallClock::now();
  const config::OptimizerConfig& opt = config.optimizer();
  StepPlanOptions plan_options;
  plan_options.units_per_round = task.UnitsPerRound();
  plan_options.micro_batch = std::max(1, opt.micro_batch_size());
  plan_options.accumulation = std::max(1, opt.gradient_accumulation_steps());
  plan_options.steps_per_round = options.steps_per_round;
  plan_options.rounds = options.rounds;
  plan_options.max_steps = opt.max_steps();
  plan_options.shuffle = config.data().shuffle();
  plan_options.seed = config.seed();
  if (plan_options.units_per_round <= 0) {
    return absl::InvalidArgumentError("data: no training examples (every line was empty or skipped)");
  }
  const bool stage3 = config.distributed().sharding_stage() == 3;
  const bool shared_units = task.SharesUnitsAcrossRanks();  // every rank trains on every unit
  if (stage3 && !shared_units && plan_options.units_per_round < comm.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "distributed.sharding_stage 3 needs at least one training unit per rank and round (%d units, %d ranks)",
        plan_options.units_per_round, comm.size()));
  }
  // Shared units: every rank is dealt the whole round, as one rank would be, in micro-batches of
  // micro_batch_size × ranks units. A step then trains on the same units as it would with each unit on
  // one rank, and a rank holds as many rows per micro-batch (its 1/ranks of each unit's rows).
  if (shared_units) plan_options.micro_batch *= comm.size();
  const StepPlan plan(plan_options, shared_units ? 0 : comm.rank(), shared_units ? 1 : comm.size());
  const objectives::CommunicatorGroupReducer group_reducer(comm);

  model::CausalLm& model = task.trained_model();
  TrainerCheckpoint checkpoint(config, comm, options.run_dir);
  TrainerResult result;
  int64_t step = 0;
  std::optional<LoadedCheckpoint> resume_point;
  if (config.checkpoint().resume()) {
    auto restored = checkpoint.RestoreModel(model, task);
    if (!restored.ok()) return restored.status();
    resume_point = *std::move(restored);
  }
  // Stage 3: from here on the policy's parameters live as per-rank shards, gathered block by block inside
  // each forward and backward; the end of a successful run gathers them back into the model.
  std::unique_ptr<distributed::ShardedParameters> sharded;
  if (stage3) sharded = distributed::ShardStage3(model, comm);
  absl::Cleanup unshard = [&] {
    if (sharded) distributed::ClearStage3(model);
  };
  std::vector<torch::Tensor> params;
  if (!stage3) {
    for (const auto& p : model.parameters()) {
      if (p.requires_grad()) params.push_back(p);
    }
  }
  for (const auto& p : task.ExtraTrainedParameters()) params.push_back(p);
  PolicyOptimizer optimizer(params, comm, opt, config.distributed(), plan.total_steps(), sharded.get());
  if (resume_point.has_value()) {
    if (auto status = checkpoint.RestoreOptimizer(*resume_point, optimizer); !status.ok()) return status;
    step = resume_point->step;
    result.resumed = true;
    resume_point.reset();
  }
  TrainerObserver observer(config, comm, options.run_dir, options.label, plan.total_steps(), step, model);
  if (auto status = observer.Open(); !status.ok()) return status;
  task.set_timers(&observer.timers());

  int64_t prepared_round = -1;
  std::vector<int64_t> rank_units;
  int64_t last_saved = result.resumed ? step : -1;
  const int64_t every = config.checkpoint().every_steps();
  while (step < plan.total_steps()) {
    const int64_t round = plan.RoundOf(step);
    if (round != prepared_round) {
      rank_units = plan.RankUnits(round);
      auto prepared = task.BeginRound(round, rank_units);
      if (!prepared.ok()) return prepared.status();
      prepared_round = round;
      observer.RoundBegun(round, task.RoundMetrics());
    }
    // ---- forward / backward over this rank's micro-batches
    const auto step_start = WallClock::now();
    const auto micro = plan.MicroBatches(step, rank_units);
    std::vector<TrainBatch> batches;
    TrainBatch padding;
    for (const auto& units : micro) batches.push_back(task.MakeBatch(units));
    objectives::StepContext context;
    if (shared_units) context.reducer = &group_reducer;
    context.global = GlobalCounts(comm, objective, batches, context, shared_units);
    MetricsAccumulator metrics;
    int64_t tokens = 0;
    double loss = 0;
    // Stage 3 gathers parameters inside every forward and backward, so every rank runs as many passes as
    // the busiest one: a rank with fewer micro-batches repeats one with its loss scaled by zero.
    size_t passes = batches.size();
    if (stage3) {
      passes = static_cast<size_t>(GlobalMax(comm, static_cast<double>(batches.size())));
      if (batches.empty() && passes > 0) padding = task.MakeBatch({rank_units.front()});
    }
    {
      auto timer = observer.Phase("train");
      if (passes == 0) optimizer.BeginMicroBatch(/*last=*/true);
      for (size_t i = 0; i < passes; ++i) {
        const bool real = i < batches.size();
        TrainBatch& batch = real ? batches[i] : (batches.empty() ? padding : batches.back());
        optimizer.BeginMicroBatch(i + 1 == passes);
        task.Forward(batch);
        objectives::ObjectiveOutput out = objective.Compute(batch.inputs, context);
        if (!real) {
          (out.loss * 0.0).backward();
          continue;
        }
        out.loss.backward();
        loss += out.loss.item<double>();
        metrics.Add(out.metrics);
        tokens += batch.tokens;
      }
    }
    OptimizerStepResult update;
    {
      auto timer = observer.Phase("sync");  // the rest of the stage-0 gradient all-reduce, the global loss
      optimizer.FinishBackward();
      loss = distributed::GlobalSum(comm, loss);
    }
    {
      auto timer = observer.Phase("optimizer");  // stage 1/3: includes the reduce-scatter and all-gather
      update = optimizer.Step(step, loss);
    }
    std::map<std::string, double> step_metrics = metrics.Reduce(comm);
    if (shared_units) {  // every rank reported the same groups
      for (const char* count : {"groups", "dropped"}) {
        if (step_metrics.count(count) > 0) step_metrics[count] /= comm.size();
      }
    }
    step_metrics["loss"] = loss;
    step_metrics["grad_norm"] = update.grad_norm;
    step_metrics["learning_rate"] = update.learning_rate;
    step_metrics["skipped"] = update.skipped ? 1 : 0;
    step_metrics["tokens"] = distributed::GlobalSum(comm, static_cast<double>(tokens));
    step_metrics["step_seconds"] = Seconds(step_start);
    ++step;
    if (plan.StepInRound(step) == 0 || step == plan.total_steps()) {
      distributed::GatheredParameters gathered(sharded.get());  // e.g. BRAIn copies the policy
      task.EndRound(round);
    }
    if (auto status = observer.StepDone(step, step_metrics); !status.ok()) return status;
    result.final_metrics = step_metrics;

    const bool stop_hook = options.stop_after_steps > 0 && step == options.stop_after_steps;
    const bool preempt = AgreeOnPreemption(comm, PreemptionRequested() || stop_hook);
    const bool periodic = every > 0 && step % every == 0;
    if (preempt || periodic || step == plan.total_steps()) {
      auto timer = observer.Phase("checkpoint");
      if (auto status = checkpoint.Save(step, model, optimizer, task, sharded.get()); !status.ok()) return status;
      last_saved = step;
      const std::vector<int64_t> kept = checkpoint.CompleteSteps();
      // A resume from the oldest kept checkpoint starts in its step's round; the round before it stays
      // too when that checkpoint ends a round (the final round's samples outlive the run).
      if (!kept.empty()) task.ForgetRoundsBefore(plan.RoundOf(std::max<int64_t>(0, kept.front() - 1)));
    }
    if (preempt && step < plan.total_steps()) {
      observer.Note(absl::StrFormat("preempted: checkpoint at step %d written; rerun the same command to resume",
                                    step));
      result.preempted = true;
      break;
    }
  }
  if (last_saved != step && step > 0) {
    if (auto status = checkpoint.Save(step, model, optimizer, task, sharded.get()); !status.ok()) return status;
  }
  if (sharded) sharded->GatherAll();  // the model holds its full parameters again for export
  if (auto status = observer.Close(); !status.ok()) return status;
  result.steps = step;
  result.seconds = Seconds(start);
  return result;
}

}  // namespace brain::train
