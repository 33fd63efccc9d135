// World under mpiexec -n 1..4: sizes, distinct ranks, local layout and threads agree with MPI itself.
#include "distributed/world.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace brain::distributed {
namespace {

TEST(World, LayoutAgreesWithMpi) {
  auto world = World::Create();
  ASSERT_TRUE(world.ok()) << world.status();
  const World& w = **world;

  int mpi_rank = -1, mpi_size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
  EXPECT_EQ(w.rank(), mpi_rank);
  EXPECT_EQ(w.size(), mpi_size);
  EXPECT_EQ(w.is_main(), mpi_rank == 0);
  EXPECT_EQ(w.layout().source, "openmpi");  // launched by Open MPI's mpiexec

  // Every rank is present exactly once.
  std::vector<int> ranks(mpi_size, -1);
  int mine = w.rank();
  MPI_Allgather(&mine, 1, MPI_INT, ranks.data(), 1, MPI_INT, MPI_COMM_WORLD);
  std::sort(ranks.begin(), ranks.end());
  for (int r = 0; r < mpi_size; ++r) EXPECT_EQ(ranks[r], r);

  // All ranks of this test share one node: local rank/size equal MPI's shared-memory split.
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, mpi_rank, MPI_INFO_NULL, &node);
  int node_rank = -1, node_size = -1;
  MPI_Comm_rank(node, &node_rank);
  MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  EXPECT_EQ(w.local_rank(), node_rank);
  EXPECT_EQ(w.local_size(), node_size);

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(w.num_threads(), std::max(1, cores / node_size));
  EXPECT_NE(w.Describe().find("rank " + std::to_string(mpi_rank) + "/" + std::to_string(mpi_size)),
            std::string::npos);
}

TEST(World, ExplicitThreadCount) {
  auto world = World::Create({.threads_per_rank = 3});
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ((*world)->num_threads(), 3);
}

}  // namespace
}  // namespace brain::distributed
