// Stage-1 ShardedAdamW under mpiexec -n 1..4: after several steps the parameters equal LibTorch's own
// AdamW run on the whole global batch in one process, on every rank; optimiser state is split 1/size;
// global-norm clipping matches clip_grad_norm_; state save/load resumes bitwise.
#include "distributed/sharded_adamw.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <map>
#include <string>

#include "distributed/data_partition.h"
#include "distributed/gradient_synchronizer.h"
#include "distributed/mpi_communicator.h"

namespace brain::distributed {
namespace {

std::vector<at::Tensor> MakeParams() {
  at::manual_seed(3);
  std::vector<at::Tensor> params = {at::randn({9, 5}, at::kDouble), at::randn({9}, at::kDouble),
                                    at::randn({2, 9}, at::kDouble), at::randn({7}, at::kDouble)};
  for (auto& p : params) p.requires_grad_(true);
  return params;  // the last parameter never gets a gradient
}

at::Tensor Loss(const std::vector<at::Tensor>& p, const at::Tensor& x, const at::Tensor& y,
                const std::vector<int64_t>& rows, int64_t global) {
  at::Tensor idx = at::tensor(rows, at::kLong);
  at::Tensor h = at::tanh(at::linear(x.index_select(0, idx), p[0], p[1]));
  return (at::linear(h, p[2]) - y.index_select(0, idx)).pow(2).sum() / static_cast<double>(global);
}

TEST(ShardedAdamW, MatchesTorchAdamWOnTheGlobalBatch) {
  auto comm = MpiCommunicator::CreateWorld(60);
  at::manual_seed(5);
  const at::Tensor x = at::randn({29, 5}, at::kDouble), y = at::randn({29, 2}, at::kDouble);
  const double lr = 0.05;
  AdamWOptions options{0.9, 0.99, 1e-8, 0.1};

  std::vector<at::Tensor> mine = MakeParams();
  ShardedAdamW sharded(mine, *comm, options);
  std::vector<at::Tensor> ref = MakeParams();
  torch::optim::AdamW reference(ref, torch::optim::AdamWOptions(lr).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1));

  for (int step = 0; step < 4; ++step) {
    const std::vector<int64_t> order = GlobalPermutation(29, 17, step);
    for (auto& p : mine) p.mutable_grad() = at::Tensor();
    Loss(mine, x, y, RankShare(order, comm->rank(), comm->size()), 29).backward();
    sharded.Step(lr);

    reference.zero_grad();
    Loss(ref, x, y, order, 29).backward();
    // ShardedAdamW treats a parameter without a gradient as having a zero gradient (its moments decay
    // and weight decay applies), whereas torch's AdamW would skip it: give the reference that zero.
    ref[3].mutable_grad() = at::zeros_like(ref[3]);
    reference.step();
  }
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_TRUE(at::allclose(mine[i], ref[i], 1e-10, 1e-12)) << "param " << i;
  }
  // Optimiser state is split evenly: this rank owns ~1/size of the 45 + 9 + 18 + 7 = 79 elements.
  EXPECT_EQ(sharded.owned_numel(), EvenSplit(79, comm->size())[comm->rank()]);
  // Parameters are identical on every rank (bitwise): compare against rank 0's.
  for (at::Tensor& p : mine) {
    at::Tensor copy = p.detach().clone();
    comm->Broadcast(copy, 0);
    EXPECT_TRUE(copy.equal(p.detach()));
  }
}

TEST(ShardedAdamW, AcceptsGradientsAlreadyReducedByTheSynchronizer) {
  auto comm = MpiCommunicator::CreateWorld(60);
  at::manual_seed(5);
  const at::Tensor x = at::randn({29, 5}, at::kDouble), y = at::randn({29, 2}, at::kDouble);
  std::vector<at::Tensor> a = MakeParams(), b = MakeParams();
  ShardedAdamW scatter(a, *comm), reduced(b, *comm);
  GradientSynchronizer sync(b, *comm, {1e-4, 1e-4});
  for (int step = 0; step < 3; ++step) {
    const std::vector<int64_t> rows = RankShare(GlobalPermutation(29, 1, step), comm->rank(), comm->size());
    for (auto& p : a) p.mutable_grad() = at::Tensor();
    for (auto& p : b) p.mutable_grad() = at::Tensor();
    Loss(a, x, y, rows, 29).backward();
    Loss(b, x, y, rows, 29).backward();
    sync.Finish();
    if (step == 1) {  // the global norm is the same whichever way the gradients were reduced
      const double norm_a = scatter.ReduceGradients(false), norm_b = reduced.ReduceGradients(true);
      EXPECT_NEAR(norm_a, norm_b, 1e-12 * norm_a);
      scatter.ApplyStep(0.01, 0.5);
      reduced.ApplyStep(0.01, 0.5);
      continue;
    }
    scatter.Step(0.01);
    reduced.Step(0.01, /*grads_reduced=*/true);
  }
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::allclose(a[i], b[i], 1e-12, 1e-14)) << i;
}

// Clipping by the global norm over shards, and skipping a step, against torch's clip_grad_norm_ and
// AdamW on the whole batch in one process (the reference simply does not step when skipping).
TEST(ShardedAdamW, ClipsByTheGlobalNormLikeTorchAndSkips) {
  auto comm = MpiCommunicator::CreateWorld(60);
  at::manual_seed(7);
  const at::Tensor x = at::randn({23, 5}, at::kDouble), y = at::randn({23, 2}, at::kDouble);
  const double lr = 0.03, max_norm = 0.2;
  AdamWOptions options{0.9, 0.95, 1e-8, 0.05};
  std::vector<at::Tensor> mine = MakeParams(), ref = MakeParams();
  ShardedAdamW sharded(mine, *comm, options);
  torch::optim::AdamW reference(ref,
                                torch::optim::AdamWOptions(lr).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.05));
  int clipped = 0;
  for (int step = 0; step < 5; ++step) {
    const std::vector<int64_t> order = GlobalPermutation(23, 11, step);
    for (auto& p : mine) p.mutable_grad() = at::Tensor();
    Loss(mine, x, y, RankShare(order, comm->rank(), comm->size()), 23).backward();
    const double norm = sharded.ReduceGradients(/*grads_reduced=*/false);

    reference.zero_grad();
    Loss(ref, x, y, order, 23).backward();
    ref[3].mutable_grad() = at::zeros_like(ref[3]);
    // Independent reference for the norm: the L2 norm of all gradients concatenated.
    double naive = 0;
    for (auto& p : ref) naive += p.grad().pow(2).sum().item<double>();
    naive = std::sqrt(naive);
    EXPECT_NEAR(norm, naive, 1e-12 * naive) << "step " << step;
    if (step == 2) {  // an "outlier": both skip
      sharded.SkipStep();
      continue;
    }
    const double torch_norm = torch::nn::utils::clip_grad_norm_(ref, max_norm);
    EXPECT_NEAR(norm, torch_norm, 1e-12 * torch_norm) << "step " << step;
    clipped += norm > max_norm;
    reference.step();
    sharded.ApplyStep(lr, ClipCoefficient(norm, max_norm));
  }
  EXPECT_GE(clipped, 3);  // the test exercises clipping
  EXPECT_EQ(sharded.step(), 4);
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_TRUE(at::allclose(mine[i], ref[i], 1e-10, 1e-12)) << "param " << i;
  }
  EXPECT_DOUBLE_EQ(ClipCoefficient(3.0, 0), 1.0);
  EXPECT_DOUBLE_EQ(ClipCoefficient(0.5, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(ClipCoefficient(4.0, 1.0), 1.0 / (4.0 + 1e-6));
}

// Save the state after 3 steps, load it into a fresh optimiser over differently initialised parameters,
// and the next steps are bitwise identical to the uninterrupted run's.
TEST(ShardedAdamW, StateRoundTripResumesBitwise) {
  auto comm = MpiCommunicator::CreateWorld(60);
  at::manual_seed(9);
  const at::Tensor x = at::randn({19, 5}, at::kDouble), y = at::randn({19, 2}, at::kDouble);
  auto run_step = [&](std::vector<at::Tensor>& params, ShardedAdamW& opt, int step) {
    for (auto& p : params) p.mutable_grad() = at::Tensor();
    Loss(params, x, y, RankShare(GlobalPermutation(19, 5, step), comm->rank(), comm->size()), 19).backward();
    const double norm = opt.ReduceGradients(false);
    opt.ApplyStep(0.02, ClipCoefficient(norm, 0.5));
  };
  std::vector<at::Tensor> a = MakeParams();
  ShardedAdamW uninterrupted(a, *comm, {0.9, 0.99, 1e-8, 0.1});
  for (int step = 0; step < 3; ++step) run_step(a, uninterrupted, step);
  std::map<std::string, at::Tensor> saved;
  for (const auto& [name, t] : uninterrupted.StateTensors()) saved[name] = t.clone();
  EXPECT_EQ(saved.count("master"), 0u) << "fp64 parameters are their own master copy";
  std::vector<at::Tensor> saved_params;  // what the model file holds
  for (const auto& p : a) saved_params.push_back(p.detach().clone());
  for (int step = 3; step < 6; ++step) run_step(a, uninterrupted, step);

  // A fresh model restored from the saved weights (as the trainer does before the optimiser state).
  std::vector<at::Tensor> b;
  for (const auto& p : saved_params) b.push_back(p.clone().requires_grad_(true));
  ShardedAdamW resumed(b, *comm, {0.9, 0.99, 1e-8, 0.1});
  ASSERT_TRUE(resumed.LoadStateTensors(saved).ok());
  EXPECT_EQ(resumed.step(), 3);
  for (int step = 3; step < 6; ++step) run_step(b, resumed, step);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].equal(b[i])) << "param " << i;
  const auto sa = uninterrupted.StateTensors(), sb = resumed.StateTensors();
  for (const auto& [name, t] : sa) EXPECT_TRUE(t.equal(sb.at(name))) << name;
}

TEST(ShardedAdamW, LoadRejectsADifferentRankCountOnEveryRank) {
  auto comm = MpiCommunicator::CreateWorld(60);
  std::vector<at::Tensor> params = MakeParams();
  ShardedAdamW opt(params, *comm);
  std::map<std::string, at::Tensor> state = opt.StateTensors();
  state["shard"] = at::tensor({int64_t{0}, int64_t{79}, int64_t{79}, int64_t{comm->size() + 1}}, at::kLong);
  absl::Status status = opt.LoadStateTensors(state);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(std::string(status.message()).find("resume with " + std::to_string(comm->size() + 1)),
            std::string::npos)
      << status;
  // Only rank 0 gets a bad file (wrong dtype): every rank fails, none hangs, nothing changes.
  std::map<std::string, at::Tensor> good = opt.StateTensors(), bad = good;
  bad["exp_avg"] = bad["exp_avg"].to(at::kFloat);
  good["step"] = at::tensor({int64_t{42}}, at::kLong);
  status = opt.LoadStateTensors(comm->rank() == 0 ? bad : good);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(opt.step(), 0);
  state.erase("exp_avg_sq");
  EXPECT_NE(std::string(opt.LoadStateTensors(state).message()).find("exp_avg_sq"), std::string::npos);
}

TEST(ShardedAdamW, Fp32ParametersAreUpdatedInPlace) {
  auto comm = MpiCommunicator::CreateWorld(60);
  std::vector<at::Tensor> params = MakeParams();
  for (auto& p : params) p = p.detach().to(at::kFloat).requires_grad_(true);
  std::vector<const void*> storage;
  for (const auto& p : params) storage.push_back(p.data_ptr());
  const std::vector<at::Tensor> before = {params[0].detach().clone(), params[2].detach().clone()};
  ShardedAdamW opt(params, *comm, {0.9, 0.99, 1e-8, 0.0});
  EXPECT_EQ(opt.StateTensors().count("master"), 0u);
  for (auto& p : params) p.mutable_grad() = at::ones_like(p);
  opt.Step(0.1);
  // Adam's first step moves every element by lr against the gradient's sign, on every rank's slice.
  EXPECT_TRUE(at::allclose(params[0].detach(), before[0] - 0.1, 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(params[2].detach(), before[1] - 0.1, 1e-5, 1e-6));
  for (size_t i = 0; i < params.size(); ++i) EXPECT_EQ(params[i].data_ptr(), storage[i]) << "param " << i;
}

TEST(ShardedAdamW, SixteenBitParametersKeepAnFp32MasterThatWinsOnLoad) {
  auto comm = MpiCommunicator::CreateWorld(60);
  std::vector<at::Tensor> params = MakeParams();
  for (auto& p : params) p = p.detach().to(at::kBFloat16).requires_grad_(true);
  ShardedAdamW opt(params, *comm);
  for (auto& p : params) p.mutable_grad() = at::ones_like(p);
  opt.Step(0.01);
  std::map<std::string, at::Tensor> state;
  for (const auto& [name, t] : opt.StateTensors()) state[name] = t.clone();
  ASSERT_EQ(state.count("master"), 1u);
  EXPECT_EQ(state["master"].scalar_type(), at::kFloat);
  EXPECT_EQ(state["master"].numel(), opt.owned_numel());

  std::vector<at::Tensor> other;  // different weights: the loaded master slices must win
  for (const auto& p : params) other.push_back(at::zeros_like(p).requires_grad_(true));
  ShardedAdamW resumed(other, *comm);
  ASSERT_TRUE(resumed.LoadStateTensors(state).ok());
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(other[i].equal(params[i])) << "param " << i;
  state.erase("master");
  EXPECT_NE(std::string(resumed.LoadStateTensors(state).message()).find("master"), std::string::npos);
}

}  // namespace
}  // namespace brain::distributed
