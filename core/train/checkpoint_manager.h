// CheckpointManager: collective save, keep-last-K pruning, discovery and loading of verified checkpoints.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/safetensors_io.h"
#include "distributed/communicator.h"
#include "proto/checkpoint.pb.h"

namespace brain::train {

struct LoadedCheckpoint {
  std::string dir;
  int64_t step = 0;
  model::TensorMap model_tensors;  // model.safetensors (every rank)
  model::TensorMap rank_tensors;   // this rank's optimizer_rank_RRRRR.safetensors
  checkpoint::TrainerState state;
};

// Checkpoints live in run_dir/checkpoints/step_XXXXXXXX/ (file layout in proto/checkpoint.proto). A save
// is written into checkpoints/.tmp_step_XXXXXXXX/, every file fsynced; rank 0 then writes manifest.pb
// (size + SHA-256 of every other file) and DONE (SHA-256 of manifest.pb), fsyncs the directory and renames
// it into place. A crash at any moment leaves either a .tmp_ directory (ignored) or a complete
// checkpoint; a step directory without a valid DONE, or with a file that fails its checksum, is skipped.
//
// Every method is collective over `comm` (every rank calls it; all return the same success or failure);
// with a null `comm` it works for one process. Only run_dir/checkpoints/ is ever written or deleted.
// Ranks are assumed to share the file system.
class CheckpointManager {
 public:
  // keep_last <= 0 keeps every checkpoint. Flags exchanged between ranks are tensors on `device`
  // (CUDA for NCCL communicators).
  CheckpointManager(std::string run_dir, distributed::Communicator* comm, int keep_last = 3,
                    torch::Device device = torch::kCPU);

  // Writes checkpoint `step`: `model_tensors` from rank 0 (other ranks may pass an empty map),
  // `rank_tensors` from every rank, `state` from rank 0. Then rank 0 deletes all but the newest
  // keep_last complete checkpoints (never the one just written) and abandoned .tmp_ directories of
  // earlier steps. Replaces an existing checkpoint of the same step. Returns the checkpoint directory.
  absl::StatusOr<std::string> Save(int64_t step, const model::TensorMap& model_tensors,
                                   const model::TensorMap& rank_tensors, const checkpoint::TrainerState& state);

  // The newest checkpoint directory that verifies (VerifyCheckpoint, run by rank 0 and broadcast), or
  // nullopt when there is none. Each newer one skipped gets a line on stderr (rank 0) naming the
  // directory and the reason.
  absl::StatusOr<std::optional<std::string>> FindNewestComplete();

  // Loads `dir`: fails when it is not complete, when it was written by a different number of ranks, or
  // when a file this rank reads fails its checksum (with `verify`).
  absl::StatusOr<LoadedCheckpoint> Load(const std::string& dir, bool verify = true);

  const std::string& checkpoints_dir() const { return checkpoints_dir_; }
  // The steps of the checkpoints with a DONE marker, ascending (local; nothing verified).
  std::vector<int64_t> CompleteSteps() const;

 private:
  int rank() const { return comm_ == nullptr ? 0 : comm_->rank(); }
  int size() const { return comm_ == nullptr ? 1 : comm_->size(); }
  // Every rank learns whether any rank failed; returns this rank's error, or an Aborted error naming
  // `what` when only another rank failed.
  absl::Status Agree(absl::Status local, const char* what);
  absl::Status Publish(int64_t step, const std::string& tmp, const std::string& final_dir);
  void Prune(int64_t just_written);

  std::string checkpoints_dir_;
  distributed::Communicator* comm_;
  int keep_last_;
  torch::Device device_;
};

}  // namespace brain::train
