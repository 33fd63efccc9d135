// BRAIn SAMPLE_PARALLEL over real MPI ranks (spec §3.7 property 6): each rank holds a share of every
// group's samples; α̂, the coefficients c, the gradient and the summed loss equal GROUP_LOCAL computed
// on the whole batch in one process.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/objectives/brain.h"
#include "core/objectives/communicator_group_reducer.h"
#include "distributed/data_partition.h"
#include "distributed/mpi_communicator.h"

namespace brain::objectives {
namespace {

using config::BrainConfig;

// 5 groups of 8 samples with realistic log-prob magnitudes; the same on every rank.
Batch MakeGroups() {
  torch::manual_seed(2024);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t groups = 5, n = 8;
  Batch b;
  b.prior_logprobs = -30.0 + 4.0 * torch::randn({groups * n}, f64);
  b.proposal_logprobs = b.prior_logprobs + 0.5 * torch::randn({groups * n}, f64);
  b.sequence_logprobs = b.proposal_logprobs + 0.3 * torch::randn({groups * n}, f64);
  b.rewards = torch::randn({groups * n}, f64);
  b.group_ids = torch::arange(groups).repeat_interleave(n);
  b.sample_index = torch::arange(n).repeat(groups);
  b.num_groups = groups;
  return b;
}

Batch Rows(const Batch& full, const torch::Tensor& rows) {
  Batch b = full;
  for (torch::Tensor* t : {&b.prior_logprobs, &b.proposal_logprobs, &b.rewards, &b.group_ids, &b.sample_index}) {
    *t = t->index_select(0, rows);
  }
  b.sequence_logprobs = full.sequence_logprobs.index_select(0, rows).detach().set_requires_grad(true);
  return b;
}

void Check(BrainConfig config) {
  auto comm = distributed::MpiCommunicator::CreateWorld(60);
  const Batch full = MakeGroups();

  // Reference: GROUP_LOCAL on the whole batch.
  Batch whole = full;
  whole.sequence_logprobs = full.sequence_logprobs.clone().set_requires_grad(true);
  config.set_placement(BrainConfig::GROUP_LOCAL);
  const ObjectiveOutput ref = BrainObjective(config).Compute(whole, StepContext());
  ref.loss.backward();

  // This rank's samples: a seeded global permutation dealt over the ranks.
  const std::vector<int64_t> order = distributed::GlobalPermutation(40, 9, 0);
  const torch::Tensor rows = torch::tensor(distributed::RankShare(order, comm->rank(), comm->size()));
  Batch mine = Rows(full, rows);
  config.set_placement(BrainConfig::SAMPLE_PARALLEL);
  const BrainObjective objective(config);
  CommunicatorGroupReducer reducer(*comm);
  StepContext context;
  context.reducer = &reducer;
  UnitCounts counts = objective.CountUnits(mine, context);
  at::Tensor groups = at::full({1}, static_cast<double>(counts.groups), at::kDouble);
  comm->AllReduce(groups, distributed::ReduceOp::kMax);  // groups are shared: MAX, not SUM
  context.global.groups = static_cast<int64_t>(groups.item<double>());
  const ObjectiveOutput out = objective.Compute(mine, context);
  out.loss.backward();

  const auto near = [](const torch::Tensor& a, const torch::Tensor& b) {
    return torch::allclose(a.to(torch::kFloat64), b.to(torch::kFloat64), 0, 1e-12);
  };
  EXPECT_TRUE(near(out.sequence_weights, ref.sequence_weights.index_select(0, rows)));
  EXPECT_TRUE(near(mine.sequence_logprobs.grad(), whole.sequence_logprobs.grad().index_select(0, rows)));
  at::Tensor loss = at::full({1}, out.loss.item<double>(), at::kDouble);
  comm->AllReduce(loss, distributed::ReduceOp::kSum);
  EXPECT_NEAR(loss.item<double>(), ref.loss.item<double>(), 1e-12);
  // Every rank reports the groups' metrics (not its share's), equal to GROUP_LOCAL's on the whole batch.
  ASSERT_EQ(out.metrics.size(), ref.metrics.size());
  for (const auto& [name, value] : ref.metrics) {
    ASSERT_EQ(out.metrics.count(name), 1u) << name;
    EXPECT_NEAR(out.metrics.at(name), value, 1e-9 * std::max(1.0, std::abs(value))) << name;
  }
}

TEST(BrainSampleParallelMpi, SoftmaxSelfNormalized) {
  BrainConfig c;
  c.set_tau(0.7);
  Check(c);
}

TEST(BrainSampleParallelMpi, ArgmaxWithBetaPol) {
  BrainConfig c;
  c.set_alpha_mode(BrainConfig::ARGMAX);
  c.set_beta_pol(0.5);
  Check(c);
}

TEST(BrainSampleParallelMpi, UnnormalizedBaseline) {
  BrainConfig c;
  c.set_baseline(BrainConfig::UNNORMALIZED);
  Check(c);
}

}  // namespace
}  // namespace brain::objectives
