// Runtime setup shared by the distributed subcommands.
#include "launch/commands/command_runtime.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace brain::cli {

absl::StatusOr<CommandRuntime> StartRuntime(const config::DistributedConfig& distributed, const std::string& verb) {
  distributed::WorldOptions options;
  options.threads_per_rank = distributed.threads_per_rank();
  auto world = distributed::World::Create(options);
  if (!world.ok()) return world.status();
  CommandRuntime runtime;
  runtime.world = std::move(*world);
  runtime.comm = distributed::MpiCommunicator::CreateWorld(distributed.collective_timeout_s());
  // Rank 0 lists where every rank runs (gathered as fixed-size strings).
  constexpr int kLine = 160;
  char line[kLine] = {};
  std::snprintf(line, kLine, "%s", runtime.world->Describe().c_str());
  std::vector<char> all(static_cast<size_t>(kLine) * runtime.world->size());
  MPI_Gather(line, kLine, MPI_CHAR, all.data(), kLine, MPI_CHAR, 0, runtime.comm->comm());
  if (runtime.world->rank() == 0) {
    for (int r = 0; r < runtime.world->size(); ++r) {
      std::fprintf(stderr, "[%s] %s\n", verb.c_str(), all.data() + static_cast<size_t>(r) * kLine);
    }
  }
  return runtime;
}

bool LauncherRankZero() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID"}) {
    if (const char* value = std::getenv(name)) return std::string(value) == "0";
  }
  return true;
}

void ReportError(const std::string& verb, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kAborted) return;
  std::fprintf(stderr, "brain %s: %s\n", verb.c_str(), std::string(status.message()).c_str());
}

}  // namespace brain::cli
