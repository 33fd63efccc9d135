// NcclCommunicator: builds and links in every CUDA build; runs against the MPI results where GPUs
// exist (one per rank) and skips with a message elsewhere.
#include "distributed/nccl_communicator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "kernels/device_info.h"

namespace brain::distributed {
namespace {

class NcclTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mpi_ = MpiCommunicator::CreateWorld(60);
    const int devices = kernels::CudaDeviceCount();
    if (!NcclAvailable() || devices < mpi_->size()) {
      GTEST_SKIP() << "NCCL test needs NCCL and one CUDA device per rank (" << devices << " visible)";
    }
    auto nccl = NcclCommunicator::Create(*mpi_, mpi_->rank() % devices, 60);
    ASSERT_TRUE(nccl.ok()) << nccl.status();
    nccl_ = std::move(*nccl);
  }
  std::unique_ptr<MpiCommunicator> mpi_;
  std::unique_ptr<NcclCommunicator> nccl_;
};

TEST(NcclBuild, LinkedWhenCudaIsBuilt) {
#ifdef BRAIN_EXPECT_NCCL
  EXPECT_TRUE(NcclAvailable());
#else
  EXPECT_FALSE(NcclAvailable());
#endif
}

TEST_F(NcclTest, CollectivesMatchMpi) {
  const at::Device device(at::kCUDA, nccl_->rank() % kernels::CudaDeviceCount());
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16, at::kLong}) {
    for (int64_t n : {0, 1, 1001}) {
      at::Tensor host = (at::arange(n, at::kDouble).remainder(13) * (mpi_->rank() + 1)).to(dtype);
      at::Tensor want = host.clone();
      mpi_->AllReduce(want, ReduceOp::kSum);
      at::Tensor got = host.to(device);
      nccl_->AllReduce(got, ReduceOp::kSum);
      EXPECT_TRUE(got.cpu().equal(want)) << c10::toString(dtype) << " n=" << n;

      at::Tensor scattered = nccl_->ReduceScatter(host.to(device), ReduceOp::kSum).cpu();
      EXPECT_TRUE(scattered.equal(mpi_->ReduceScatter(host, ReduceOp::kSum))) << c10::toString(dtype);

      at::Tensor rows = host.narrow(0, 0, std::min<int64_t>(n, mpi_->rank()));
      EXPECT_TRUE(nccl_->AllGather(rows.to(device)).cpu().equal(mpi_->AllGather(rows)));
    }
  }
  at::Tensor b = at::full({5}, static_cast<double>(mpi_->rank()), at::kDouble).to(device);
  nccl_->Broadcast(b, 0);
  EXPECT_TRUE(b.cpu().equal(at::zeros({5}, at::kDouble)));
  nccl_->Barrier();
}

}  // namespace
}  // namespace brain::distributed
