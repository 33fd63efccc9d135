// HF checkpoint tensors: single-file or sharded (model.safetensors.index.json) reads and writes, and the
// strict mapping of checkpoint tensors onto a module's parameters.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/safetensors_io.h"

namespace brain::model {

inline constexpr char kSafetensorsFile[] = "model.safetensors";
inline constexpr char kSafetensorsIndexFile[] = "model.safetensors.index.json";

// All tensors of the checkpoint in `dir`: model.safetensors.index.json when present (every shard it
// names; each listed key must be in its shard), else model.safetensors.
absl::StatusOr<TensorMap> LoadCheckpointTensors(const std::string& dir);

// Writes `tensors` to `dir` as model.safetensors, or, when max_shard_bytes > 0 and they do not fit in
// one shard, as model-0000i-of-0000n.safetensors plus model.safetensors.index.json.
absl::Status SaveCheckpointTensors(const std::string& dir, const TensorMap& tensors,
                                   int64_t max_shard_bytes = 0);

// Maps checkpoint key -> parameter name, or nullopt to skip the key.
using KeyMapper = std::function<std::optional<std::string>(const std::string&)>;

// Copies `tensors` into the parameters of `module` (converting dtype, keeping the parameter's device).
// Strict: on any missing key, unexpected key or shape mismatch nothing is copied and ONE error lists them
// all, prefixed with `source`.
absl::Status LoadStateDict(torch::nn::Module& module, const TensorMap& tensors, const KeyMapper& mapper,
                           const std::string& source);

}  // namespace brain::model
