// Sha256: the SHA-256 digest (FIPS 180-4) of byte strings and files, for checkpoint manifests.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/train/sha256_blocks.h"

namespace brain::train {

class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  void Update(const void* data, size_t size);
  // The 32-byte digest of everything updated so far; the object must not be updated afterwards.
  std::array<uint8_t, 32> Finish();
  // Finish() as 64 lowercase hex digits.
  std::string FinishHex();

 private:
  std::array<uint32_t, 8> state_;
  Sha256BlocksFn blocks_;  // SHA-NI where the CPU has it
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Hex digest of `data`.
std::string Sha256Hex(std::string_view data);

// Hex digest of the file at `path` (read in chunks); an error names the file and the reason.
absl::StatusOr<std::string> Sha256File(const std::string& path);

}  // namespace brain::train
