// CounterUniform: counter-based (Philox4x32-10) uniforms keyed by (run seed, round, prompt, sample, step).
#pragma once

#include <array>
#include <cstdint>

namespace brain::sampling {

// Where a run's randomness comes from: the run seed and the round (e.g. the BRAIn iteration).
struct SeedContext {
  uint64_t run_seed = 0;
  int64_t round = 0;
};

// Philox4x32 with 10 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
// a bijection of the 128-bit counter under a 64-bit key. Stateless, so any draw can be recomputed.
std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// The uniform in [0, 1) (53 random bits) that decides token `step` of sample (prompt_id,
// sample_index). Key = run seed; counter = (step, sample_index, a 64-bit mix of (round, prompt_id)).
// Independent of batch composition, rank count and order of work.
double CounterUniform(const SeedContext& seed, int64_t prompt_id, int64_t sample_index, int64_t step);

}  // namespace brain::sampling
