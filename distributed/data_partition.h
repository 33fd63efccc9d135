// Deterministic data partitioning: one global seeded permutation, each rank's share derived from it.
#pragma once

#include <cstdint>
#include <vector>

namespace brain::distributed {

// A permutation of 0..n-1 that depends only on (seed, epoch): Fisher–Yates driven by a counter-based
// generator (SplitMix64 of seed, epoch and step), so every rank computes the same one independently.
std::vector<int64_t> GlobalPermutation(int64_t n, uint64_t seed, uint64_t epoch);

// This rank's items of `order`: positions rank, rank + size, rank + 2·size, ... (strided, so every
// prefix of `order` is spread evenly over the ranks; shares differ in length by at most one).
std::vector<int64_t> RankShare(const std::vector<int64_t>& order, int rank, int size);

// A 64-bit seed for one unit of work, e.g. (run seed, round, prompt id, sample index): independent of
// which rank does the work or in what order.
uint64_t DeriveSeed(uint64_t run_seed, uint64_t a, uint64_t b = 0, uint64_t c = 0);

}  // namespace brain::distributed
