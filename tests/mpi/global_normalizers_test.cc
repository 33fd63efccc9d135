// Global sums and the cross-rank group log-sum-exp (spec §3.6) against a one-process computation.
#include "distributed/global_normalizers.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "distributed/mpi_communicator.h"

namespace brain::distributed {
namespace {

TEST(GlobalNormalizers, GlobalSumOfCounts) {
  auto comm = MpiCommunicator::CreateWorld(60);
  const double got = GlobalSum(*comm, comm->rank() + 1);
  EXPECT_EQ(got, comm->size() * (comm->size() + 1) / 2.0);
}

TEST(GlobalNormalizers, GroupLogSumExpMatchesOneProcess) {
  auto comm = MpiCommunicator::CreateWorld(60);
  const double inf = std::numeric_limits<double>::infinity();
  // 23 samples in 6 groups: group 4 only −inf (a group whose a_i are all −inf), group 5 empty.
  // Large magnitudes check the max shift.
  at::Tensor all_values = at::linspace(-700, 900, 23, at::kDouble);
  at::Tensor all_groups = at::tensor({0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 4, 1, 4, 2, 3, 0, 1, 2, 3, 0}, at::kLong);
  all_values.index_put_({all_groups.eq(4)}, -inf);
  all_values[5] = -inf;  // a −inf sample inside a normal group

  // Samples are dealt to ranks round-robin, so groups span ranks and some ranks lack some groups.
  at::Tensor mine = at::arange(comm->rank(), 23, comm->size(), at::kLong);
  at::Tensor lse = GlobalGroupLogSumExp(*comm, all_values.index_select(0, mine),
                                        all_groups.index_select(0, mine), 6);
  for (int g = 0; g < 6; ++g) {
    double m = -inf;
    for (int i = 0; i < 23; ++i) {
      if (all_groups[i].item<int64_t>() == g) m = std::max(m, all_values[i].item<double>());
    }
    double s = 0;
    for (int i = 0; i < 23; ++i) {
      if (all_groups[i].item<int64_t>() == g && std::isfinite(m)) s += std::exp(all_values[i].item<double>() - m);
    }
    const double want = std::isfinite(m) ? m + std::log(s) : -inf;
    const double got = lse[g].item<double>();
    if (std::isinf(want)) {
      EXPECT_TRUE(std::isinf(got) && got < 0) << "group " << g << " got " << got;
    } else {
      EXPECT_NEAR(got, want, 1e-12 * std::abs(want)) << "group " << g;
    }
  }
}

}  // namespace
}  // namespace brain::distributed
