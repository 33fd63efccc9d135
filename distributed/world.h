// World: this process's place in the job — rank, size, local rank, device, threads — over MPI.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "distributed/process_layout.h"

namespace brain::distributed {

struct Device {
  enum class Type { kCpu, kCuda };
  Type type = Type::kCpu;
  int index = 0;
  std::string ToString() const;  // "cpu" or "cuda:N"
};

struct WorldOptions {
  // 0 = BRAIN_THREADS_PER_RANK (set by launch/brainrun), else SLURM_CPUS_PER_TASK, else hardware cores /
  // local ranks (see ResolveThreadsPerRank).
  int threads_per_rank = 0;
  // Where launcher variables are read from; empty = the process environment. Tests inject their own.
  EnvLookup env;
};

// Threads per rank: `requested` when positive, else a positive BRAIN_THREADS_PER_RANK, else a positive
// SLURM_CPUS_PER_TASK, else max(1, hardware_cores / local_size).
int ResolveThreadsPerRank(int requested, const EnvLookup& env, int local_size, int hardware_cores);

// The environment as seen for rank discovery: Slurm's task variables (SLURM_PROCID, ...) describe this
// process only inside a job step (srun sets SLURM_STEP_ID); a batch script, and a plain process run from
// it, sees SLURM_PROCID=0 and SLURM_NTASKS of the whole job, so outside a step they are hidden.
EnvLookup LauncherEnv(EnvLookup env);

class World {
 public:
  // Initialises MPI (unless already initialised), reads the layout, picks the device and sets the
  // LibTorch thread count. MPI is finalised when the World is destroyed, if it was initialised here.
  // The layout comes from Open MPI's variables (mpirun), else Slurm's (srun), else MPI itself; when the
  // launcher's rank/size disagree with MPI's (e.g. `srun --mpi=none`), Create fails and says how to
  // launch instead.
  static absl::StatusOr<std::unique_ptr<World>> Create(const WorldOptions& options = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return layout_.rank; }
  int size() const { return layout_.size; }
  int local_rank() const { return layout_.local_rank; }
  int local_size() const { return layout_.local_size; }
  bool is_main() const { return layout_.rank == 0; }
  const ProcessLayout& layout() const { return layout_; }
  const Device& device() const { return device_; }
  int num_threads() const { return num_threads_; }
  const std::string& hostname() const { return hostname_; }
  MPI_Comm comm() const { return comm_; }

  // "rank 1/2 (local 1/2 via openmpi) on host: cpu, 1 thread" — for startup logs.
  std::string Describe() const;

  // Collective over comm(): every rank's Describe() line, in rank order, one per line, on rank 0 (the
  // host and device map to print at start); an empty string on the other ranks.
  std::string PlacementReport() const;

  // Collective over comm(): every rank's `mine` concatenated in rank order on rank 0 (empty on the other
  // ranks). With `offsets`, rank 0 also gets where each rank's part starts, then the total (size() + 1).
  std::string GatherToMain(std::string_view mine, std::vector<int>* offsets = nullptr) const;

 private:
  World() = default;

  ProcessLayout layout_;
  Device device_;
  int num_threads_ = 1;
  std::string hostname_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  bool owns_mpi_ = false;
};

}  // namespace brain::distributed
