// safetensors reading (memory-mapped, validated) and writing of LibTorch tensors.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace brain::model {

using TensorMap = std::map<std::string, torch::Tensor>;

// Maps `path` and returns its tensors. The tensors alias a private copy-on-write mapping of the file
// (kept alive while any tensor refers to it); an entry whose data is misaligned for its dtype is copied.
// The header is validated against the file size first (see ParseStHeader), so a truncated or hostile
// file gives an error naming the file and the reason.
absl::StatusOr<TensorMap> LoadSafetensors(const std::string& path);

// Writes `tensors` (any device; copied to CPU, contiguous) in their own dtypes, with optional string
// metadata. Written to PATH.tmp and renamed, so a crash never leaves a half-written PATH.
absl::Status SaveSafetensors(const std::string& path, const TensorMap& tensors,
                             const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace brain::model
