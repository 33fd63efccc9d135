// CRC-32C (Castagnoli), table-driven, and the masked form TFRecord files store.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace brain::train {

// CRC-32C of `n` bytes (reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF), as in
// RFC 3720 (iSCSI). Extend continues a CRC over more bytes: Extend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }
inline uint32_t Crc32c(absl::string_view bytes) { return Crc32c(bytes.data(), bytes.size()); }

// TFRecord's masking: rotate right by 15 bits and add 0xa282ead8 (so CRCs of data containing CRCs differ).
inline uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t UnmaskCrc32c(uint32_t masked) {
  const uint32_t rotated = masked - 0xa282ead8u;
  return (rotated >> 17) | (rotated << 15);
}

}  // namespace brain::train
