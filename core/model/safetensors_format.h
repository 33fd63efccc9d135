// safetensors file format (torch-free): dtypes, header parsing with full bounds validation, header writing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace brain::model {

// The element types brain reads and writes (the ones HF checkpoints use).
enum class StDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI8, kU8, kBool };

// "F32", "BF16", ... as spelled in safetensors headers.
const char* StDtypeName(StDtype dtype);
absl::StatusOr<StDtype> StDtypeFromName(const std::string& name);
size_t StDtypeSize(StDtype dtype);

// One tensor entry of a header. Offsets are relative to the start of the data section (after the
// 8-byte length prefix and the JSON header).
struct StTensorInfo {
  std::string name;
  StDtype dtype = StDtype::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct StHeader {
  uint64_t data_start = 0;                      // byte offset of the data section within the file
  std::vector<StTensorInfo> tensors;            // sorted by begin offset
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" string map
};

// Headers larger than this are rejected before any allocation (the reference library uses 100 MB).
inline constexpr uint64_t kMaxStHeaderBytes = 100ull << 20;

// Parses and validates the header of a safetensors file whose first bytes are `prefix` (at least the
// 8-byte length and the JSON header, or the whole file) and whose total size is `file_size`. Every
// entry is checked: known dtype, non-negative shape without overflow, begin <= end, end within the
// data section, end - begin == numel * dtype size, and no two tensors overlap. `file_name` is only
// used in error messages, which all read "FILE: reason".
absl::StatusOr<StHeader> ParseStHeader(const uint8_t* prefix, size_t prefix_size, uint64_t file_size,
                                       const std::string& file_name);

// Reads just enough of `path` to parse and validate its header.
absl::StatusOr<StHeader> ReadStHeader(const std::string& path);

// Builds the 8-byte length prefix plus JSON header (space-padded to a multiple of 8) for tensors laid
// out back to back in the given order; fills in each entry's begin/end.
std::string BuildStHeader(std::vector<StTensorInfo>& tensors,
                          const std::map<std::string, std::string>& metadata);

}  // namespace brain::model
