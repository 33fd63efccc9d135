// RNG states as bytes: torch's CPU generator through get_state/set_state, engines through their streams.
#include "core/train/rng_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>
#include <ATen/ATen.h>

#include <cstring>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace brain::train {

at::Tensor BytesToTensor(const std::string& bytes) {
  at::Tensor t = at::empty({static_cast<int64_t>(bytes.size())}, at::kByte);
  if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

std::string TensorToBytes(const at::Tensor& tensor) {
  const at::Tensor t = tensor.cpu().contiguous();
  return std::string(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.nbytes()));
}

std::string CaptureTorchCpuRngState() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  at::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  return TensorToBytes(state);
}

absl::Status RestoreTorchCpuRngState(const std::string& state) {
  const size_t expected = CaptureTorchCpuRngState().size();
  if (state.size() != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("torch CPU RNG state: ", state.size(), " bytes, expected ", expected));
  }
  at::Tensor bytes = BytesToTensor(state);
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  try {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(bytes);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("torch CPU RNG state: ", e.what()));
  }
  return absl::OkStatus();
}

std::string CaptureEngineState(const std::mt19937_64& engine) {
  std::ostringstream out;
  out << engine;
  return out.str();
}

absl::Status RestoreEngineState(const std::string& state, std::mt19937_64& engine) {
  std::istringstream in(state);
  std::mt19937_64 restored;
  in >> restored;
  if (in.fail()) return absl::InvalidArgumentError("mt19937_64 state: malformed or truncated");
  in >> std::ws;
  if (!in.eof()) return absl::InvalidArgumentError("mt19937_64 state: trailing bytes");
  engine = restored;
  return absl::OkStatus();
}

}  // namespace brain::train
