// World: MPI initialisation, layout discovery, device choice and thread count.
#include "distributed/world.h"

#include <torch/cuda.h>
#include <torch/utils.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace brain::distributed {
namespace {

int PositiveIntVar(const EnvLookup& env, const std::string& name) {
  std::optional<std::string> value = env(name);
  int parsed = 0;
  if (!value || !absl::SimpleAtoi(*value, &parsed) || parsed < 1) return 0;
  return parsed;
}

}  // namespace

int ResolveThreadsPerRank(int requested, const EnvLookup& env, int local_size, int hardware_cores) {
  if (requested > 0) return requested;
  if (int brain = PositiveIntVar(env, "BRAIN_THREADS_PER_RANK")) return brain;
  if (int slurm = PositiveIntVar(env, "SLURM_CPUS_PER_TASK")) return slurm;
  return DefaultThreadsPerRank(0, local_size, hardware_cores);
}

EnvLookup LauncherEnv(EnvLookup env) {
  return [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
    if (absl::StartsWith(name, "SLURM_") && !env("SLURM_STEP_ID")) return std::nullopt;
    return env(name);
  };
}

std::string Device::ToString() const {
  return type == Type::kCpu ? std::string("cpu") : absl::StrCat("cuda:", index);
}

absl::StatusOr<std::unique_ptr<World>> World::Create(const WorldOptions& options) {
  std::unique_ptr<World> world(new World());
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
      return absl::UnavailableError("MPI_Init_thread failed");
    }
    world->owns_mpi_ = true;
  }
  world->comm_ = MPI_COMM_WORLD;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  // Ranks sharing a node, as MPI sees them; the launcher's variables win when they agree on size.
  MPI_Comm node_comm;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node_comm);
  int node_rank = 0, node_size = 1;
  MPI_Comm_rank(node_comm, &node_rank);
  MPI_Comm_size(node_comm, &node_size);
  MPI_Comm_free(&node_comm);

  const EnvLookup env = options.env ? options.env : ProcessEnv();
  ProcessLayout layout{rank, size, node_rank, node_size, "mpi"};
  if (std::optional<ProcessLayout> launcher = LayoutFromEnv(LauncherEnv(env))) {
    if (launcher->rank != rank || launcher->size != size) {
      const char* hint = launcher->source == "slurm"
                             ? "; srun must start MPI: srun --mpi=pmix (see `srun --mpi=list`), or use "
                               "mpirun inside the allocation"
                             : "";
      return absl::FailedPreconditionError(absl::StrFormat(
          "launcher environment (%s) says rank %d of %d but MPI says rank %d of %d%s",
          launcher->source, launcher->rank, launcher->size, rank, size, hint));
    }
    layout = *launcher;
  }
  world->layout_ = layout;

  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  world->hostname_ = host;

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  world->num_threads_ = ResolveThreadsPerRank(options.threads_per_rank, env, layout.local_size, cores);
  torch::set_num_threads(world->num_threads_);

  if (torch::cuda::is_available() && torch::cuda::device_count() > 0) {
    world->device_.type = Device::Type::kCuda;
    world->device_.index = layout.local_rank % static_cast<int>(torch::cuda::device_count());
  }
  return world;
}

World::~World() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_mpi_ && !finalized) MPI_Finalize();
}

std::string World::Describe() const {
  return absl::StrFormat("rank %d/%d (local %d/%d via %s) on %s: %s, %d thread%s", rank(), size(),
                         local_rank(), local_size(), layout_.source, hostname_, device_.ToString(),
                         num_threads_, num_threads_ == 1 ? "" : "s");
}

std::string World::PlacementReport() const {
  std::vector<int> offsets;
  const std::string all = GatherToMain(Describe(), &offsets);
  std::string report;
  for (size_t r = 0; r + 1 < offsets.size(); ++r) {
    absl::StrAppend(&report, absl::string_view(all).substr(offsets[r], offsets[r + 1] - offsets[r]), "\n");
  }
  return report;
}

std::string World::GatherToMain(std::string_view mine, std::vector<int>* offsets) const {
  // Variable lengths: gather the lengths, then the bytes.
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(is_main() ? size() : 0);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm_);
  std::vector<int> starts(lengths.size() + (is_main() ? 1 : 0), 0);
  for (size_t r = 0; r < lengths.size(); ++r) starts[r + 1] = starts[r] + lengths[r];
  std::string all(is_main() ? static_cast<size_t>(starts.back()) : 0, '\0');
  MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), starts.data(), MPI_CHAR, 0, comm_);
  if (offsets != nullptr) *offsets = std::move(starts);
  return all;
}

}  // namespace brain::distributed
