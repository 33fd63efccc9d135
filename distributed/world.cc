// World: MPI initialisation, layout discovery, device choice and thread count.
#include "distributed/world.h"

#include <torch/cuda.h>
#include <torch/utils.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace brain::distributed {

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

  ProcessLayout layout{rank, size, node_rank, node_size, "mpi"};
  if (std::optional<ProcessLayout> env = LayoutFromEnv(ProcessEnv())) {
    if (env->rank != rank || env->size != size) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "launcher environment (%s) says rank %d of %d but MPI says rank %d of %d", env->source,
          env->rank, env->size, rank, size));
    }
    layout = *env;
  }
  world->layout_ = layout;

  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  world->hostname_ = host;

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  world->num_threads_ = DefaultThreadsPerRank(options.threads_per_rank, layout.local_size, cores);
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

}  // namespace brain::distributed
