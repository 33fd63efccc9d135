// Global sums of unit counts against the one-process value.
#include "distributed/global_normalizers.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "distributed/mpi_communicator.h"

namespace brain::distributed {
namespace {

TEST(GlobalNormalizers, GlobalSumOfCounts) {
  auto comm = MpiCommunicator::CreateWorld(60);
  const double got = GlobalSum(*comm, comm->rank() + 1);
  EXPECT_EQ(got, comm->size() * (comm->size() + 1) / 2.0);
}

}  // namespace
}  // namespace brain::distributed
