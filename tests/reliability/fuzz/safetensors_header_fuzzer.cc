// libFuzzer target: the safetensors header parser (model::ParseStHeader) on arbitrary file bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/model/safetensors_format.h"

// The input is a whole file. Besides "no crash, no sanitizer report", every accepted header must
// describe tensors that lie inside the file, as the parser promises.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto header = brain::model::ParseStHeader(data, size, size, "fuzz.safetensors");
  if (!header.ok()) return 0;
  for (const auto& t : header->tensors) {
    if (t.begin > t.end || header->data_start + t.end > size) std::abort();
  }
  // A file claiming to be longer than the bytes at hand (only the prefix was read).
  auto longer = brain::model::ParseStHeader(data, size, size + 4096, "fuzz.safetensors");
  (void)longer;
  return 0;
}
