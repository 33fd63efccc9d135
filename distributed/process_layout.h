// ProcessLayout: rank/size/local rank as the launcher (Open MPI, Slurm) announces them in the environment.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace brain::distributed {

struct ProcessLayout {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  int local_size = 1;
  std::string source = "default";  // which variables supplied the layout: "openmpi", "slurm", "mpi"
};

// Reads an environment variable; returns nullopt when unset. Injected so tests need no real env.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// The layout announced by Open MPI (OMPI_COMM_WORLD_*) or else Slurm (SLURM_PROCID, SLURM_NTASKS,
// SLURM_LOCALID, SLURM_STEP_TASKS_PER_NODE / SLURM_TASKS_PER_NODE), or nullopt when neither is present
// or the values are malformed.
std::optional<ProcessLayout> LayoutFromEnv(const EnvLookup& env);

// Tasks on node `node_index` from a Slurm task list such as "2(x3),1"; nullopt when malformed.
std::optional<int> SlurmTasksOnNode(const std::string& tasks_per_node, int node_index);

// max(1, cores / local_size), or `requested` when positive.
int DefaultThreadsPerRank(int requested, int local_size, int hardware_cores);

}  // namespace brain::distributed
