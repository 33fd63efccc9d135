// The SHA-256 compression function over whole 64-byte blocks: portable, and with the x86 SHA extensions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace brain::train {

// Folds `blocks` consecutive 64-byte blocks of `data` into `state` (the eight working words a..h).
using Sha256BlocksFn = void (*)(uint32_t state[8], const uint8_t* data, size_t blocks);

// FIPS 180-4 §6.2.2 in plain C++.
void Sha256BlocksPortable(uint32_t state[8], const uint8_t* data, size_t blocks);

// The same with the SHA-NI instructions (x86-64 with SHA, SSSE3 and SSE4.1; several times faster), or null
// where the CPU or the build lacks them.
Sha256BlocksFn Sha256BlocksAccelerated();

// The accelerated function when there is one, else the portable one: what Sha256 uses.
Sha256BlocksFn Sha256BlocksBest();

}  // namespace brain::train
