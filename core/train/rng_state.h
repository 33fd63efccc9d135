// RNG state capture/restore as bytes (torch's default CPU generator, std::mt19937_64), for bitwise resume.
#pragma once

#include <ATen/core/Tensor.h>

#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace brain::train {

// Bytes as a 1-D uint8 CPU tensor and back, e.g. to keep a rank's RNG state in its checkpoint shard.
at::Tensor BytesToTensor(const std::string& bytes);
std::string TensorToBytes(const at::Tensor& tensor);  // the tensor's raw bytes (made contiguous, on CPU)

// The full state of torch's default CPU generator (Mersenne Twister state, seed, cached normals).
std::string CaptureTorchCpuRngState();
// Restores a state from CaptureTorchCpuRngState; rejects bytes of the wrong size (e.g. truncated).
absl::Status RestoreTorchCpuRngState(const std::string& state);

// A std::mt19937_64's state in the standard's textual form (operator<<), exact across platforms.
std::string CaptureEngineState(const std::mt19937_64& engine);
// Restores `engine` from CaptureEngineState's bytes; on malformed bytes it fails and leaves `engine` as is.
absl::Status RestoreEngineState(const std::string& state, std::mt19937_64& engine);

}  // namespace brain::train
