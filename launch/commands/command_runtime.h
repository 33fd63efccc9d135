// CommandRuntime: the MPI world and communicator a distributed subcommand runs in.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "distributed/mpi_communicator.h"
#include "distributed/world.h"
#include "proto/config.pb.h"

namespace brain::cli {

struct CommandRuntime {
  std::unique_ptr<distributed::World> world;
  std::unique_ptr<distributed::MpiCommunicator> comm;
};

// Initialises MPI, sets threads per rank (distributed.threads_per_rank, else cores ÷ local ranks) and
// creates the watched world communicator (distributed.collective_timeout_s). Rank 0 prints one line per
// rank (host, device, threads) to stderr.
absl::StatusOr<CommandRuntime> StartRuntime(const config::DistributedConfig& distributed, const std::string& verb);

// Before MPI is initialised: whether this process is rank 0 according to the launcher's variables
// (Open MPI, PMIx, Slurm); true when none is set. Errors found before the World exists (e.g. a bad
// config, which every rank reads) are printed by rank 0 only.
bool LauncherRankZero();

// "brain VERB: message" on stderr — except for the Aborted status a rank gets when another rank failed
// (that rank prints the cause).
void ReportError(const std::string& verb, const absl::Status& status);

}  // namespace brain::cli
