// Stage-1 ShardedAdamW under mpiexec -n 1..4: after several steps the parameters equal LibTorch's own
// AdamW run on the whole global batch in one process, on every rank; optimiser state is split 1/size.
#include "distributed/sharded_adamw.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

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
    scatter.Step(0.01);
    Loss(b, x, y, rows, 29).backward();
    sync.Finish();
    reduced.Step(0.01, /*grads_reduced=*/true);
  }
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::allclose(a[i], b[i], 1e-12, 1e-14)) << i;
}

}  // namespace
}  // namespace brain::distributed
