// World under mpiexec -n 1..4: sizes, distinct ranks, local layout and threads agree with MPI itself;
// Slurm variables (injected) are used inside a job step and ignored in a batch shell.
#include "distributed/world.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"

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
  WorldOptions options;
  options.threads_per_rank = 3;
  auto world = World::Create(options);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ((*world)->num_threads(), 3);
}

// A fake environment: exactly these variables.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

WorldOptions WithEnv(EnvLookup env) {
  WorldOptions options;
  options.env = std::move(env);
  return options;
}

struct MpiView {
  int rank = 0, size = 1, node_rank = 0, node_size = 1;
};
MpiView Mpi() {
  MpiView v;
  MPI_Comm_rank(MPI_COMM_WORLD, &v.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &v.size);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, v.rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &v.node_rank);
  MPI_Comm_size(node, &v.node_size);
  MPI_Comm_free(&node);
  return v;
}

TEST(World, ThreadsFromLauncherVariables) {
  EXPECT_EQ(ResolveThreadsPerRank(5, FakeEnv({{"BRAIN_THREADS_PER_RANK", "3"}}), 2, 16), 5);
  EXPECT_EQ(ResolveThreadsPerRank(0, FakeEnv({{"BRAIN_THREADS_PER_RANK", "3"},
                                              {"SLURM_CPUS_PER_TASK", "7"}}), 2, 16), 3);
  EXPECT_EQ(ResolveThreadsPerRank(0, FakeEnv({{"SLURM_CPUS_PER_TASK", "7"}}), 2, 16), 7);
  EXPECT_EQ(ResolveThreadsPerRank(0, FakeEnv({{"BRAIN_THREADS_PER_RANK", "0"}}), 2, 16), 8);
  EXPECT_EQ(ResolveThreadsPerRank(0, FakeEnv({{"BRAIN_THREADS_PER_RANK", "x"}}), 4, 2), 1);
  EXPECT_EQ(ResolveThreadsPerRank(0, FakeEnv({}), 3, 16), 5);

  auto world = World::Create(WithEnv(FakeEnv({{"BRAIN_THREADS_PER_RANK", "2"}})));
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ((*world)->num_threads(), 2);
  EXPECT_EQ((*world)->layout().source, "mpi");  // no launcher variables at all
}

TEST(World, SlurmStepVariablesGiveTheLayout) {
  const MpiView m = Mpi();
  auto world = World::Create(WithEnv(FakeEnv({{"SLURM_STEP_ID", "0"},
                                              {"SLURM_PROCID", std::to_string(m.rank)},
                                              {"SLURM_NTASKS", std::to_string(m.size)},
                                              {"SLURM_LOCALID", std::to_string(m.node_rank)},
                                              {"SLURM_NODEID", "0"},
                                              {"SLURM_STEP_TASKS_PER_NODE", std::to_string(m.node_size)}})));
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ((*world)->layout().source, "slurm");
  EXPECT_EQ((*world)->rank(), m.rank);
  EXPECT_EQ((*world)->local_size(), m.node_size);
}

TEST(World, BatchShellSlurmVariablesAreIgnored) {
  // What a process started directly from an sbatch script sees: the whole job's task count, no step.
  const MpiView m = Mpi();
  auto world = World::Create(WithEnv(FakeEnv({{"SLURM_JOB_ID", "7"},
                                              {"SLURM_PROCID", "0"},
                                              {"SLURM_NTASKS", std::to_string(m.size + 3)},
                                              {"SLURM_LOCALID", "0"},
                                              {"SLURM_TASKS_PER_NODE", std::to_string(m.size + 3)}})));
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ((*world)->layout().source, "mpi");
  EXPECT_EQ((*world)->size(), m.size);
}

TEST(World, SrunWithoutMpiSupportIsAnError) {
  // `srun --mpi=none -n K`: each task is its own MPI job, but Slurm announces K tasks.
  const MpiView m = Mpi();
  auto world = World::Create(WithEnv(FakeEnv({{"SLURM_STEP_ID", "0"},
                                              {"SLURM_PROCID", std::to_string(m.rank)},
                                              {"SLURM_NTASKS", std::to_string(m.size + 1)},
                                              {"SLURM_LOCALID", "0"},
                                              {"SLURM_TASKS_PER_NODE", std::to_string(m.size + 1)}})));
  ASSERT_FALSE(world.ok());
  EXPECT_NE(world.status().message().find("srun --mpi=pmix"), std::string::npos) << world.status();
}

TEST(World, PlacementReportListsEveryRankOnRankZero) {
  auto world = World::Create();
  ASSERT_TRUE(world.ok()) << world.status();
  const World& w = **world;
  const std::string report = w.PlacementReport();
  if (!w.is_main()) {
    EXPECT_EQ(report, "");
    return;
  }
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::vector<std::string> lines = absl::StrSplit(report, '\n', absl::SkipEmpty());
  ASSERT_EQ(static_cast<int>(lines.size()), w.size()) << report;
  for (int r = 0; r < w.size(); ++r) {
    const std::string prefix = "rank " + std::to_string(r) + "/" + std::to_string(w.size()) + " (";
    EXPECT_EQ(lines[r].rfind(prefix, 0), 0u) << lines[r];
    EXPECT_NE(lines[r].find(std::string(" on ") + host + ": "), std::string::npos) << lines[r];
  }
  EXPECT_EQ(report.back(), '\n');
}

}  // namespace
}  // namespace brain::distributed
