// Stage-0 gradient synchronisation under mpiexec -n 1..4: the all-rank gradient equals the gradient of
// the whole global batch computed in one process, for any bucket layout, with accumulation micro-steps
// and with a parameter that gets no gradient.
#include "distributed/gradient_synchronizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "distributed/data_partition.h"
#include "distributed/mpi_communicator.h"

namespace brain::distributed {
namespace {

struct Mlp {
  std::vector<at::Tensor> params;  // w1, b1, w2, b2, unused
  Mlp() {
    at::manual_seed(7);  // the same initial weights on every rank and in the reference
    params = {at::randn({16, 8}, at::kDouble), at::randn({16}, at::kDouble), at::randn({4, 16}, at::kDouble),
              at::randn({4}, at::kDouble), at::randn({3}, at::kDouble)};
    for (auto& p : params) p.requires_grad_(true);
  }
  // Σ over `rows` of the squared error, divided by the GLOBAL example count (spec §1).
  at::Tensor Loss(const at::Tensor& x, const at::Tensor& y, const at::Tensor& rows, int64_t global) const {
    at::Tensor h = at::tanh(at::linear(x.index_select(0, rows), params[0], params[1]));
    at::Tensor out = at::linear(h, params[2], params[3]);
    return (out - y.index_select(0, rows)).pow(2).sum() / static_cast<double>(global);
  }
};

struct Data {
  at::Tensor x, y;
  Data() {
    at::manual_seed(11);
    x = at::randn({37, 8}, at::kDouble);
    y = at::randn({37, 4}, at::kDouble);
  }
};

std::vector<at::Tensor> ReferenceGrads(const Data& d, const std::vector<std::vector<int64_t>>& steps) {
  Mlp model;
  int64_t global = 0;
  for (const auto& s : steps) global += s.size();
  for (const auto& s : steps) model.Loss(d.x, d.y, at::tensor(s, at::kLong), global).backward();
  std::vector<at::Tensor> grads;
  for (auto& p : model.params) grads.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
  return grads;
}

void CheckSynchronized(double first_mb, double bucket_mb, int micro_steps) {
  auto comm = MpiCommunicator::CreateWorld(60);
  const Data data;
  const std::vector<int64_t> order = GlobalPermutation(37, 3, 0);
  // The global batch split into micro-steps; each micro-step's examples are dealt over the ranks.
  std::vector<std::vector<int64_t>> steps(micro_steps);
  for (size_t i = 0; i < order.size(); ++i) steps[i % micro_steps].push_back(order[i]);

  Mlp model;
  GradientSynchronizer sync(model.params, *comm, {first_mb, bucket_mb});
  for (int m = 0; m < micro_steps; ++m) {
    sync.set_sync(m == micro_steps - 1);
    std::vector<int64_t> mine = RankShare(steps[m], comm->rank(), comm->size());
    model.Loss(data.x, data.y, at::tensor(mine, at::kLong), 37).backward();
  }
  sync.Finish();

  const std::vector<at::Tensor> want = ReferenceGrads(data, steps);
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(model.params[i].grad().defined()) << "param " << i;
    EXPECT_TRUE(at::allclose(model.params[i].grad(), want[i], 1e-10, 1e-12))
        << "param " << i << " buckets " << sync.num_buckets() << " micro-steps " << micro_steps;
  }
}

TEST(GradientSynchronizer, OneBucket) { CheckSynchronized(100, 100, 1); }
TEST(GradientSynchronizer, BucketPerParameter) { CheckSynchronized(1e-9, 1e-9, 1); }
TEST(GradientSynchronizer, SmallFirstBucketThenLarger) { CheckSynchronized(1e-4, 1e-3, 1); }
TEST(GradientSynchronizer, AccumulationMicroStepsDoNotSync) { CheckSynchronized(1e-4, 1e-3, 3); }

TEST(GradientSynchronizer, BucketCountFollowsBudget) {
  auto comm = MpiCommunicator::CreateWorld(60);
  Mlp model;
  EXPECT_EQ(GradientSynchronizer(model.params, *comm, {100, 100}).num_buckets(), 1);
  EXPECT_EQ(GradientSynchronizer(model.params, *comm, {1e-9, 1e-9}).num_buckets(), 5);
}

}  // namespace
}  // namespace brain::distributed
