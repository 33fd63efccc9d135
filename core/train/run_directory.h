// The run directory of a training run, and agreeing on success across ranks.
#pragma once

#include "absl/status/status.h"
#include "distributed/communicator.h"
#include "proto/config.pb.h"

namespace brain::train {

// Rank 0, before training: creates config.output_dir and writes config.textproto (the resolved config).
// A directory whose config.textproto differs from this config while it holds checkpoints is refused,
// as is one holding checkpoints when checkpoint.resume is off: a run never overwrites another's work.
absl::Status PrepareRunDirectory(const config::ExperimentConfig& config);

// Collective: OK only when every rank's `local` is OK. A failed rank returns its own error; the others
// return an Aborted error saying another rank failed (its message is on that rank's stderr).
absl::Status AgreeOnStatus(distributed::Communicator& comm, const absl::Status& local);

}  // namespace brain::train
