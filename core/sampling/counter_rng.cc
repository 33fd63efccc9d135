// Philox4x32-10 and the per-token uniform built on it.
#include "core/sampling/counter_rng.h"

namespace brain::sampling {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;
constexpr uint32_t kWeyl1 = 0xBB67AE85u;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c[0];
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kWeyl0;
    k[1] += kWeyl1;
  }
  return c;
}

double CounterUniform(const SeedContext& seed, int64_t prompt_id, int64_t sample_index, int64_t step) {
  const uint64_t mix = SplitMix64(SplitMix64(static_cast<uint64_t>(seed.round)) ^ static_cast<uint64_t>(prompt_id));
  const auto step_u = static_cast<uint64_t>(step);
  const auto sample_u = static_cast<uint64_t>(sample_index);
  // Step and sample index use 32 bits each; their high halves are folded into the mixed word.
  const uint64_t high = mix ^ SplitMix64(((step_u >> 32) << 32) | (sample_u >> 32));
  const std::array<uint32_t, 4> counter = {static_cast<uint32_t>(step_u), static_cast<uint32_t>(sample_u),
                                           static_cast<uint32_t>(high), static_cast<uint32_t>(high >> 32)};
  const std::array<uint32_t, 2> key = {static_cast<uint32_t>(seed.run_seed),
                                       static_cast<uint32_t>(seed.run_seed >> 32)};
  const auto out = Philox4x32(counter, key);
  const uint64_t bits = (static_cast<uint64_t>(out[0]) << 32 | out[1]) >> 11;  // 53 bits
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

}  // namespace brain::sampling
