// Deterministic partitioning: permutations, rank shares independent of the world size, derived seeds.
#include "distributed/data_partition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace brain::distributed {
namespace {

TEST(DataPartition, PermutationIsAPermutationAndDeterministic) {
  for (int64_t n : {0, 1, 2, 17, 1000}) {
    std::vector<int64_t> p = GlobalPermutation(n, 42, 3);
    std::vector<int64_t> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[i], i);
    EXPECT_EQ(p, GlobalPermutation(n, 42, 3));
  }
  EXPECT_NE(GlobalPermutation(1000, 42, 3), GlobalPermutation(1000, 42, 4));
  EXPECT_NE(GlobalPermutation(1000, 42, 3), GlobalPermutation(1000, 43, 3));
}

TEST(DataPartition, PermutationIsRoughlyUniform) {
  // Where element 0 lands, over many epochs, covers all 10 positions about equally.
  std::vector<int> hits(10, 0);
  for (uint64_t epoch = 0; epoch < 5000; ++epoch) {
    std::vector<int64_t> p = GlobalPermutation(10, 7, epoch);
    hits[std::find(p.begin(), p.end(), 0) - p.begin()]++;
  }
  for (int h : hits) EXPECT_NEAR(h, 500, 100);
}

TEST(DataPartition, SharesCoverEverythingOnceForAnyWorldSize) {
  const std::vector<int64_t> order = GlobalPermutation(103, 1, 0);
  for (int size = 1; size <= 5; ++size) {
    std::multiset<int64_t> seen;
    size_t smallest = order.size(), largest = 0;
    for (int rank = 0; rank < size; ++rank) {
      std::vector<int64_t> share = RankShare(order, rank, size);
      seen.insert(share.begin(), share.end());
      smallest = std::min(smallest, share.size());
      largest = std::max(largest, share.size());
    }
    EXPECT_EQ(seen, std::multiset<int64_t>(order.begin(), order.end())) << size;
    EXPECT_LE(largest - smallest, 1u) << size;
  }
}

TEST(DataPartition, DerivedSeedsDependOnEveryComponent) {
  std::set<uint64_t> seeds;
  for (uint64_t round = 0; round < 4; ++round) {
    for (uint64_t prompt = 0; prompt < 50; ++prompt) {
      for (uint64_t sample = 0; sample < 8; ++sample) seeds.insert(DeriveSeed(1234, round, prompt, sample));
    }
  }
  EXPECT_EQ(seeds.size(), 4u * 50 * 8);
  EXPECT_EQ(DeriveSeed(1, 2, 3, 4), DeriveSeed(1, 2, 3, 4));
  EXPECT_NE(DeriveSeed(1, 2, 3, 4), DeriveSeed(2, 2, 3, 4));
}

}  // namespace
}  // namespace brain::distributed
