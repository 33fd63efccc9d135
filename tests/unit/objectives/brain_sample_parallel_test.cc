// BRAIn SAMPLE_PARALLEL placement on 1–4 simulated ranks (threads sharing an in-process all-reduce)
// against GROUP_LOCAL on the same data (spec §3.6, §3.7 property 6).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "core/objectives/brain.h"
#include "tests/unit/objectives/objectives_test_util.h"

namespace brain::objectives {
namespace {

using config::BrainConfig;
using testing::ExpectTensorsNear;

// An all-reduce among `ranks` threads: each contributes a tensor, all receive the combination.
class SimulatedWorld {
 public:
  explicit SimulatedWorld(int ranks) : ranks_(ranks), inputs_(ranks) {}

  torch::Tensor AllReduce(int rank, const torch::Tensor& value, bool max) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !draining_; });  // the previous collective is fully consumed
    inputs_[rank] = value.detach().clone();
    if (++arrived_ == ranks_) {
      result_ = inputs_[0].clone();
      for (int r = 1; r < ranks_; ++r)
        result_ = max ? torch::maximum(result_, inputs_[r]) : result_ + inputs_[r];
      draining_ = true;
      remaining_ = ranks_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return draining_; });
    }
    torch::Tensor out = result_.clone();
    if (--remaining_ == 0) {
      draining_ = false;
      arrived_ = 0;
      cv_.notify_all();
    }
    ++collectives_;
    return out;
  }

  int collectives() const { return collectives_; }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  const int ranks_;
  std::vector<torch::Tensor> inputs_;
  torch::Tensor result_;
  int arrived_ = 0, remaining_ = 0, collectives_ = 0;
  bool draining_ = false;
};

class SimulatedReducer final : public GroupReducer {
 public:
  SimulatedReducer(SimulatedWorld* world, int rank) : world_(world), rank_(rank) {}
  torch::Tensor AllReduceMax(const torch::Tensor& v) const override {
    return world_->AllReduce(rank_, v, true);
  }
  torch::Tensor AllReduceSum(const torch::Tensor& v) const override {
    return world_->AllReduce(rank_, v, false);
  }

 private:
  SimulatedWorld* world_;
  int rank_;
};

// 7 groups of 6 samples; ties in a for ARGMAX; one group with a NaN reward (dropped on every rank).
Batch MakeData(uint64_t seed) {
  torch::manual_seed(seed);
  const auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t groups = 7, n = 6, s = groups * n;
  Batch b;
  b.prior_logprobs = -15.0 + 2.0 * torch::randn({s}, opt);
  b.proposal_logprobs = -15.0 + 2.0 * torch::randn({s}, opt);
  b.sequence_logprobs = -15.0 + 2.0 * torch::randn({s}, opt);
  b.rewards = torch::randn({s}, opt);
  // Group 1: samples 2 and 4 tie for the largest a (and sample 5 equals sample 2 in everything).
  for (int64_t i : {6 + 4, 6 + 5}) {
    b.prior_logprobs[i] = b.prior_logprobs[6 + 2].item<double>();
    b.proposal_logprobs[i] = b.proposal_logprobs[6 + 2].item<double>();
    b.rewards[i] = b.rewards[6 + 2].item<double>();
  }
  b.rewards[6 + 2] = b.rewards[6 + 2] + 50.0;
  b.rewards[6 + 4] = b.rewards[6 + 4] + 50.0;
  b.rewards[6 + 5] = b.rewards[6 + 5] + 50.0;
  b.rewards[3 * n + 1] = std::numeric_limits<double>::quiet_NaN();  // group 3 dropped
  b.group_ids = torch::arange(groups).repeat_interleave(n);
  b.sample_index = torch::arange(n).repeat(groups);
  b.num_groups = groups;
  return b;
}

Batch Rows(const Batch& full, const torch::Tensor& rows) {
  Batch b = full;
  for (torch::Tensor* t :
       {&b.prior_logprobs, &b.proposal_logprobs, &b.rewards, &b.group_ids, &b.sample_index}) {
    *t = t->index_select(0, rows);
  }
  b.sequence_logprobs = full.sequence_logprobs.detach().index_select(0, rows).set_requires_grad(true);
  return b;
}

void CheckPlacement(const BrainConfig& base_config, int ranks, uint64_t seed) {
  const Batch full = MakeData(seed);
  Batch local = full;
  local.sequence_logprobs = full.sequence_logprobs.clone().set_requires_grad(true);
  BrainConfig local_config = base_config;
  local_config.set_placement(BrainConfig::GROUP_LOCAL);
  const BrainObjective group_local(local_config);
  const ObjectiveOutput ref = group_local.Compute(local, StepContext());
  ref.loss.backward();
  const torch::Tensor ref_alpha = group_local.ComputeAlpha(local, StepContext()).alpha;
  ASSERT_EQ(ref.metrics.at("dropped"), 1.0);

  // Random assignment of samples to ranks (a rank may hold none of a group's samples).
  torch::manual_seed(seed + 100);
  const torch::Tensor owner = torch::randint(0, ranks, {full.group_ids.size(0)}, torch::kLong);
  BrainConfig sp_config = base_config;
  sp_config.set_placement(BrainConfig::SAMPLE_PARALLEL);
  const BrainObjective sample_parallel(sp_config);
  SimulatedWorld world(ranks);
  std::vector<Batch> batches(ranks);
  std::vector<ObjectiveOutput> outputs(ranks);
  std::vector<torch::Tensor> alphas(ranks), rows(ranks);
  std::vector<UnitCounts> counts(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    rows[r] = (owner == r).nonzero().flatten();
    batches[r] = Rows(full, rows[r]);
    threads.emplace_back([&, r] {
      SimulatedReducer reducer(&world, r);
      StepContext context;
      context.reducer = &reducer;
      counts[r] = sample_parallel.CountUnits(batches[r], context);
      context.global.groups = counts[r].groups;  // identical on every rank: groups are shared
      alphas[r] = sample_parallel.ComputeAlpha(batches[r], context).alpha;
      outputs[r] = sample_parallel.Compute(batches[r], context);
      outputs[r].loss.backward();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(world.collectives(), 0);

  double loss = 0;
  for (int r = 0; r < ranks; ++r) {
    EXPECT_EQ(counts[r].groups, 6);
    EXPECT_EQ(outputs[r].metrics.at("dropped"), 1.0);
    loss += outputs[r].loss.item<double>();
    ExpectTensorsNear(alphas[r], ref_alpha.index_select(0, rows[r]), 1e-12, "alpha");
    ExpectTensorsNear(outputs[r].sequence_weights, ref.sequence_weights.index_select(0, rows[r]), 1e-12, "c");
    ExpectTensorsNear(batches[r].sequence_logprobs.grad(),
                      local.sequence_logprobs.grad().index_select(0, rows[r]), 1e-12, "gradient");
    // β̂ (SELF_NORMALIZED): G·c/β_pol + α̂.
    if (base_config.baseline() == BrainConfig::SELF_NORMALIZED) {
      const double g = 6.0 / base_config.beta_pol();
      ExpectTensorsNear(outputs[r].sequence_weights * g + alphas[r],
                        (ref.sequence_weights * g + ref_alpha).index_select(0, rows[r]), 1e-12, "beta_hat");
    }
    // Whole-group metrics agree on every rank.
    for (const char* key : {"loss", "d_sn", "ess_mean", "ess_min", "max_alpha_mean"}) {
      EXPECT_NEAR(outputs[r].metrics.at(key), ref.metrics.at(key), 1e-12) << key;
    }
  }
  EXPECT_NEAR(loss, ref.loss.item<double>(), 1e-12);
}

TEST(BrainSampleParallel, MatchesGroupLocalOnOneToFourRanks) {
  for (int ranks = 1; ranks <= 4; ++ranks) {
    for (const auto baseline : {BrainConfig::SELF_NORMALIZED, BrainConfig::NONE, BrainConfig::UNNORMALIZED}) {
      for (const auto mode : {BrainConfig::SOFTMAX, BrainConfig::ARGMAX}) {
        BrainConfig c;
        c.set_baseline(baseline);
        c.set_alpha_mode(mode);
        c.set_tau(0.8);
        if (baseline == BrainConfig::SELF_NORMALIZED) c.set_beta_pol(0.7);
        SCOPED_TRACE(::testing::Message()
                     << "ranks " << ranks << " baseline " << baseline << " mode " << mode);
        CheckPlacement(c, ranks, 40 + ranks);
      }
    }
  }
}

TEST(BrainSampleParallel, ArgmaxTieGoesToLowestGlobalIndex) {
  const Batch full = MakeData(5);
  BrainConfig c;
  c.set_alpha_mode(BrainConfig::ARGMAX);
  const torch::Tensor alpha = BrainObjective(c).ComputeAlpha(full, StepContext()).alpha;
  EXPECT_EQ(alpha[6 + 2].item<double>(), 1.0);
  EXPECT_EQ(alpha[6 + 4].item<double>(), 0.0);
  EXPECT_EQ(alpha[6 + 5].item<double>(), 0.0);
}

}  // namespace
}  // namespace brain::objectives
