// The run directory of a training run.
#pragma once

#include "absl/status/status.h"
#include "proto/config.pb.h"

namespace brain::train {

// Rank 0, before training: creates config.output_dir and writes config.textproto (the resolved config).
// A directory whose config.textproto differs from this config while it holds checkpoints is refused,
// as is one holding checkpoints when checkpoint.resume is off: a run never overwrites another's work.
absl::Status PrepareRunDirectory(const config::ExperimentConfig& config);

}  // namespace brain::train
