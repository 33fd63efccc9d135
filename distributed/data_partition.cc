// Global seeded permutations and rank shares.
#include "distributed/data_partition.h"

#include <cstddef>
#include <numeric>
#include <utility>

namespace brain::distributed {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform integer in [0, bound) from a 64-bit value (multiply-shift; bias < 2^-32 for our sizes).
uint64_t Below(uint64_t random, uint64_t bound) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(random) * bound) >> 64);
}

}  // namespace

uint64_t DeriveSeed(uint64_t run_seed, uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = SplitMix64(run_seed);
  h = SplitMix64(h ^ a);
  h = SplitMix64(h ^ b);
  return SplitMix64(h ^ c);
}

std::vector<int64_t> GlobalPermutation(int64_t n, uint64_t seed, uint64_t epoch) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const uint64_t key = DeriveSeed(seed, epoch, 0x5045524dULL);  // "PERM"
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(Below(SplitMix64(key ^ static_cast<uint64_t>(i)), i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

std::vector<int64_t> RankShare(const std::vector<int64_t>& order, int rank, int size) {
  std::vector<int64_t> share;
  share.reserve(order.size() / size + 1);
  for (std::size_t i = static_cast<std::size_t>(rank); i < order.size(); i += size) share.push_back(order[i]);
  return share;
}

}  // namespace brain::distributed
