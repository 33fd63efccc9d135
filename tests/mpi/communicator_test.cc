// MpiCommunicator under mpiexec -n 1..4: every collective against the same computation done in one
// process on all ranks' inputs, for several dtypes and sizes (including empty and non-divisible ones).
#include "distributed/mpi_communicator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <vector>

namespace brain::distributed {
namespace {

// The input every rank `r` contributes: distinct per rank, exactly representable in every dtype.
at::Tensor InputOf(int r, int64_t n, at::ScalarType dtype) {
  at::Tensor base = at::arange(n, at::kDouble);
  if (dtype == at::kBool) return (base.to(at::kLong) + r).remainder(3).eq(0);
  at::Tensor values = (base.remainder(17) - 8) * (r + 1) + r;  // small integers: exact in bf16
  return values.to(dtype);
}

std::vector<at::Tensor> AllInputs(int size, int64_t n, at::ScalarType dtype) {
  std::vector<at::Tensor> inputs;
  for (int r = 0; r < size; ++r) inputs.push_back(InputOf(r, n, dtype));
  return inputs;
}

at::Tensor Reference(const std::vector<at::Tensor>& inputs, ReduceOp op) {
  at::Tensor stacked = at::stack(inputs).to(at::kDouble);
  switch (op) {
    case ReduceOp::kSum: return stacked.sum(0);
    case ReduceOp::kMax: return std::get<0>(stacked.max(0));
    case ReduceOp::kMin: return std::get<0>(stacked.min(0));
    case ReduceOp::kAvg: return stacked.mean(0);
  }
  return {};
}

class CommunicatorTest : public ::testing::Test {
 protected:
  void SetUp() override { comm_ = MpiCommunicator::CreateWorld(/*timeout_s=*/30); }
  std::unique_ptr<MpiCommunicator> comm_;
};

const at::ScalarType kDtypes[] = {at::kFloat, at::kDouble, at::kBFloat16, at::kHalf, at::kLong, at::kInt};
const int64_t kSizes[] = {0, 1, 7, 1000, 4099};

TEST_F(CommunicatorTest, AllReduceEveryOpDtypeAndSize) {
  for (at::ScalarType dtype : kDtypes) {
    for (int64_t n : kSizes) {
      for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin, ReduceOp::kAvg}) {
        if (op == ReduceOp::kAvg && !at::isFloatingType(dtype)) continue;
        at::Tensor t = InputOf(comm_->rank(), n, dtype);
        comm_->AllReduce(t, op);
        at::Tensor want = Reference(AllInputs(comm_->size(), n, dtype), op);
        const double tol = (dtype == at::kBFloat16 || dtype == at::kHalf) ? 1e-2 : 1e-12;
        ASSERT_EQ(t.scalar_type(), dtype);
        ASSERT_TRUE(at::allclose(t.to(at::kDouble), want.to(dtype).to(at::kDouble), tol, tol))
            << c10::toString(dtype) << " n=" << n << " op=" << ReduceOpName(op);
      }
    }
  }
}

TEST_F(CommunicatorTest, AllReduceBoolIsLogicalOr) {
  at::Tensor t = InputOf(comm_->rank(), 50, at::kBool);
  comm_->AllReduce(t, ReduceOp::kMax);
  at::Tensor want = at::stack(AllInputs(comm_->size(), 50, at::kBool)).any(0);
  EXPECT_TRUE(t.equal(want));
}

TEST_F(CommunicatorTest, AllReduceNonContiguousWritesBack) {
  at::Tensor base = InputOf(comm_->rank(), 12, at::kFloat).reshape({3, 4});
  at::Tensor view = base.t();  // non-contiguous view
  comm_->AllReduce(view, ReduceOp::kSum);
  std::vector<at::Tensor> all;
  for (int r = 0; r < comm_->size(); ++r) all.push_back(InputOf(r, 12, at::kFloat).reshape({3, 4}));
  EXPECT_TRUE(base.equal(at::stack(all).sum(0)));
}

TEST_F(CommunicatorTest, AsyncAllReducesOverlap) {
  std::vector<at::Tensor> tensors;
  std::vector<std::unique_ptr<Work>> work;
  for (int i = 0; i < 4; ++i) tensors.push_back(InputOf(comm_->rank() + i, 333, at::kFloat));
  for (int i = 0; i < 4; ++i) work.push_back(comm_->AllReduceAsync(tensors[i], ReduceOp::kSum));
  for (int i = 3; i >= 0; --i) work[i]->Wait();  // any completion order
  for (int i = 0; i < 4; ++i) {
    std::vector<at::Tensor> all;
    for (int r = 0; r < comm_->size(); ++r) all.push_back(InputOf(r + i, 333, at::kFloat));
    EXPECT_TRUE(tensors[i].equal(at::stack(all).sum(0))) << i;
  }
}

TEST_F(CommunicatorTest, AllGatherUnevenRows) {
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16, at::kLong, at::kBool}) {
    // Rank r contributes r rows (rank 0 none) of width 3.
    const int r = comm_->rank();
    at::Tensor mine = InputOf(r, 3 * r, dtype).reshape({r, 3});
    at::Tensor got = comm_->AllGather(mine);
    std::vector<at::Tensor> rows;
    for (int q = 0; q < comm_->size(); ++q) rows.push_back(InputOf(q, 3 * q, dtype).reshape({q, 3}));
    EXPECT_TRUE(got.equal(at::cat(rows, 0))) << c10::toString(dtype);
  }
}

TEST_F(CommunicatorTest, ReduceScatterNonDivisible) {
  for (at::ScalarType dtype : {at::kFloat, at::kDouble, at::kBFloat16, at::kLong}) {
    for (int64_t n : kSizes) {
      at::Tensor got = comm_->ReduceScatter(InputOf(comm_->rank(), n, dtype), ReduceOp::kSum);
      at::Tensor full = Reference(AllInputs(comm_->size(), n, dtype), ReduceOp::kSum).to(dtype);
      const std::vector<int64_t> split = EvenSplit(n, comm_->size());
      int64_t offset = 0;
      for (int q = 0; q < comm_->rank(); ++q) offset += split[q];
      ASSERT_EQ(got.numel(), split[comm_->rank()]);
      EXPECT_TRUE(got.equal(full.narrow(0, offset, split[comm_->rank()]))) << c10::toString(dtype) << " n=" << n;
    }
  }
}

TEST_F(CommunicatorTest, BroadcastFromEveryRoot) {
  for (int root = 0; root < comm_->size(); ++root) {
    at::Tensor t = InputOf(comm_->rank(), 101, at::kDouble);
    comm_->Broadcast(t, root);
    EXPECT_TRUE(t.equal(InputOf(root, 101, at::kDouble))) << root;
  }
}

TEST_F(CommunicatorTest, SplitMakesIndependentGroups) {
  // Even and odd ranks form two groups; each sums only its members.
  auto sub = comm_->Split(comm_->rank() % 2, comm_->rank());
  at::Tensor t = at::full({1}, static_cast<double>(comm_->rank()), at::kDouble);
  sub->AllReduce(t, ReduceOp::kSum);
  double want = 0;
  for (int r = comm_->rank() % 2; r < comm_->size(); r += 2) want += r;
  EXPECT_EQ(t.item<double>(), want);
  EXPECT_EQ(sub->rank(), comm_->rank() / 2);
  comm_->Barrier();
}

TEST_F(CommunicatorTest, RejectsUnsupportedInput) {
  at::Tensor undefined;
  EXPECT_THROW(comm_->AllReduce(undefined, ReduceOp::kSum), std::invalid_argument);
  at::Tensor ints = at::ones({3}, at::kLong);
  EXPECT_THROW(comm_->AllReduce(ints, ReduceOp::kAvg), std::invalid_argument);
  comm_->Barrier();
}

}  // namespace
}  // namespace brain::distributed
