// Checkpoint directory helpers: durable writes, step directory names, manifests and their verification.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/checkpoint.pb.h"

namespace brain::train {

inline constexpr char kCheckpointsSubdir[] = "checkpoints";
inline constexpr char kModelFile[] = "model.safetensors";
inline constexpr char kTrainerStateFile[] = "trainer_state.pb";
inline constexpr char kManifestFile[] = "manifest.pb";
inline constexpr char kDoneFile[] = "DONE";
inline constexpr char kTempPrefix[] = ".tmp_";

// "step_00000042" (at least 8 digits); ParseStepDirName inverts it (nullopt for any other name).
std::string StepDirName(int64_t step);
std::optional<int64_t> ParseStepDirName(std::string_view name);
// "optimizer_rank_00003.safetensors".
std::string RankFileName(int rank);

// fsync of a file or directory.
absl::Status FsyncPath(const std::string& path);
// Writes `bytes` to PATH.tmp, fsyncs it and renames it to `path` (the directory is not fsynced).
absl::Status WriteFileDurably(const std::string& path, std::string_view bytes);
// Reads a whole file.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Size and SHA-256 of every regular file in `dir` (recursively, sorted by path) except the manifest and
// DONE themselves.
absl::StatusOr<checkpoint::Manifest> BuildManifest(const std::string& dir, int64_t step, int world_size);

// A checkpoint directory is complete when DONE holds the SHA-256 of manifest.pb, the manifest parses
// and names `step`, every listed file has its size and SHA-256, and trainer_state.pb parses. Returns the
// manifest, or an error saying what is wrong (names the file).
absl::StatusOr<checkpoint::Manifest> VerifyCheckpoint(const std::string& dir, int64_t step);

}  // namespace brain::train
