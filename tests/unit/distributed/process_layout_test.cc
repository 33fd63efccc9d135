// Process layout from launcher variables: Open MPI, Slurm (incl. compressed task lists), bad values.
#include "distributed/process_layout.h"

#include <gtest/gtest.h>

#include <map>

namespace brain::distributed {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ProcessLayout, OpenMpiVariables) {
  auto layout = LayoutFromEnv(FakeEnv({{"OMPI_COMM_WORLD_RANK", "5"},
                                       {"OMPI_COMM_WORLD_SIZE", "8"},
                                       {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                       {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}}));
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->rank, 5);
  EXPECT_EQ(layout->size, 8);
  EXPECT_EQ(layout->local_rank, 1);
  EXPECT_EQ(layout->local_size, 4);
  EXPECT_EQ(layout->source, "openmpi");
}

TEST(ProcessLayout, OpenMpiWinsOverSlurm) {
  auto layout = LayoutFromEnv(FakeEnv({{"OMPI_COMM_WORLD_RANK", "0"},
                                       {"OMPI_COMM_WORLD_SIZE", "2"},
                                       {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                       {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                                       {"SLURM_PROCID", "1"}}));
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->source, "openmpi");
}

TEST(ProcessLayout, SlurmVariablesWithCompressedTaskList) {
  // 3 nodes with 4 tasks, then 1 node with 2: rank 13 is task 1 on node 3.
  auto layout = LayoutFromEnv(FakeEnv({{"SLURM_PROCID", "13"},
                                       {"SLURM_NTASKS", "14"},
                                       {"SLURM_LOCALID", "1"},
                                       {"SLURM_NODEID", "3"},
                                       {"SLURM_STEP_TASKS_PER_NODE", "4(x3),2"}}));
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->rank, 13);
  EXPECT_EQ(layout->size, 14);
  EXPECT_EQ(layout->local_rank, 1);
  EXPECT_EQ(layout->local_size, 2);
  EXPECT_EQ(layout->source, "slurm");
}

TEST(ProcessLayout, SlurmTaskListParsing) {
  EXPECT_EQ(SlurmTasksOnNode("2", 0), 2);
  EXPECT_EQ(SlurmTasksOnNode("2(x3),1", 2), 2);
  EXPECT_EQ(SlurmTasksOnNode("2(x3),1", 3), 1);
  EXPECT_EQ(SlurmTasksOnNode("2(x3),1", 4), std::nullopt);
  EXPECT_EQ(SlurmTasksOnNode("2(3)", 0), std::nullopt);
  EXPECT_EQ(SlurmTasksOnNode("x", 0), std::nullopt);
  EXPECT_EQ(SlurmTasksOnNode("", 0), std::nullopt);
}

TEST(ProcessLayout, MalformedOrInconsistentValuesAreRejected) {
  EXPECT_FALSE(LayoutFromEnv(FakeEnv({})).has_value());
  EXPECT_FALSE(LayoutFromEnv(FakeEnv({{"OMPI_COMM_WORLD_RANK", "0"}})).has_value());
  EXPECT_FALSE(LayoutFromEnv(FakeEnv({{"OMPI_COMM_WORLD_RANK", "3"},
                                      {"OMPI_COMM_WORLD_SIZE", "2"},
                                      {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                      {"OMPI_COMM_WORLD_LOCAL_SIZE", "1"}}))
                   .has_value());
  EXPECT_FALSE(LayoutFromEnv(FakeEnv({{"OMPI_COMM_WORLD_RANK", "zero"},
                                      {"OMPI_COMM_WORLD_SIZE", "2"},
                                      {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                      {"OMPI_COMM_WORLD_LOCAL_SIZE", "1"}}))
                   .has_value());
}

TEST(ProcessLayout, ThreadsPerRank) {
  EXPECT_EQ(DefaultThreadsPerRank(0, 2, 2), 1);
  EXPECT_EQ(DefaultThreadsPerRank(0, 1, 8), 8);
  EXPECT_EQ(DefaultThreadsPerRank(0, 4, 2), 1);  // oversubscribed: never below one
  EXPECT_EQ(DefaultThreadsPerRank(3, 4, 2), 3);  // explicit request wins
}

}  // namespace
}  // namespace brain::distributed
