// KvCache row API (ResetRows, KeepRows, Pack, Reserve, CopyRowsFrom) against a naive per-row reference:
// the list of each row's valid keys/values in slot order, kept alongside by plain vector operations.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "core/model/kv_cache.h"

namespace brain::model {
namespace {

constexpr int64_t kLayers = 2, kHeads = 2, kHeadDim = 3;

ModelConfig Config() {
  ModelConfig c;
  c.num_layers = kLayers;
  c.num_kv_heads = kHeads;
  c.head_dim = kHeadDim;
  return c;
}

// Reference: per row, per layer, the valid keys and values as [Hkv, hd] entries in slot order.
struct RowRef {
  std::vector<std::vector<torch::Tensor>> keys{kLayers}, values{kLayers};
  int64_t size() const { return static_cast<int64_t>(keys[0].size()); }
};

// Appends one step of `valid` ([B, T] bool, drawn by the caller) with fresh random k/v to both.
void Step(KvCache& cache, std::vector<RowRef>& ref, const torch::Tensor& valid) {
  const int64_t batch = valid.size(0), t = valid.size(1);
  cache.BeginStep(valid);
  for (int64_t l = 0; l < kLayers; ++l) {
    const auto k = torch::randn({batch, kHeads, t, kHeadDim});
    const auto v = torch::randn({batch, kHeads, t, kHeadDim});
    cache.Update(l, k, v);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t s = 0; s < t; ++s) {
        if (!valid[b][s].item<bool>()) continue;
        ref[b].keys[l].push_back(k[b].select(1, s).clone());
        ref[b].values[l].push_back(v[b].select(1, s).clone());
      }
    }
  }
  cache.EndStep();
}

void ExpectMatches(const KvCache& cache, const std::vector<RowRef>& ref, const std::string& where) {
  ASSERT_EQ(cache.batch(), static_cast<int64_t>(ref.size())) << where;
  ASSERT_LE(cache.filled(), cache.capacity()) << where;
  const auto valid = cache.key_valid();
  ASSERT_EQ(valid.size(1), cache.filled()) << where;
  for (int64_t b = 0; b < cache.batch(); ++b) {
    EXPECT_EQ(cache.row_lengths()[b].item<int64_t>(), ref[b].size()) << where << " row " << b;
    const auto slots = valid[b].nonzero().view({-1});
    ASSERT_EQ(slots.numel(), ref[b].size()) << where << " row " << b;
    for (int64_t l = 0; l < kLayers; ++l) {
      const auto [k, v] = cache.LayerKeyValues(l);
      for (int64_t j = 0; j < slots.numel(); ++j) {
        const int64_t s = slots[j].item<int64_t>();
        EXPECT_TRUE(torch::equal(k[b].select(1, s), ref[b].keys[l][j])) << where << " row " << b << " key " << j;
        EXPECT_TRUE(torch::equal(v[b].select(1, s), ref[b].values[l][j])) << where << " row " << b << " value " << j;
      }
    }
  }
}

// A cache of `batch` rows after three steps with ragged validity (left and right padding, holes).
KvCache Filled(int64_t batch, std::vector<RowRef>& ref, int64_t capacity = 12) {
  KvCache cache(Config(), batch, capacity, torch::TensorOptions().dtype(torch::kFloat32));
  ref.assign(batch, RowRef{});
  Step(cache, ref, torch::rand({batch, 4}) < 0.6);
  Step(cache, ref, torch::rand({batch, 1}) < 0.7);
  Step(cache, ref, torch::rand({batch, 2}) < 0.5);
  return cache;
}

TEST(KvCacheRows, LayerKeyValuesAndProtocolMatchTheReference) {
  torch::manual_seed(1);
  std::vector<RowRef> ref;
  auto cache = Filled(5, ref);
  EXPECT_EQ(cache.filled(), 7);
  ExpectMatches(cache, ref, "after steps");
}

TEST(KvCacheRows, ResetRowsEmptiesOnlyThoseRows) {
  torch::manual_seed(2);
  std::vector<RowRef> ref;
  auto cache = Filled(5, ref);
  cache.ResetRows({1, 3});
  ref[1] = RowRef{};
  ref[3] = RowRef{};
  ExpectMatches(cache, ref, "reset");
  Step(cache, ref, torch::ones({5, 1}, torch::kBool));  // decoding continues in every row
  ExpectMatches(cache, ref, "reset + step");
}

TEST(KvCacheRows, KeepRowsSelectsAndReordersRows) {
  torch::manual_seed(3);
  std::vector<RowRef> ref;
  auto cache = Filled(5, ref);
  cache.KeepRows({4, 0, 2, 2});
  ref = {ref[4], ref[0], ref[2], ref[2]};
  ExpectMatches(cache, ref, "keep");
  Step(cache, ref, torch::rand({4, 2}) < 0.5);
  ExpectMatches(cache, ref, "keep + step");
}

TEST(KvCacheRows, PackMovesValidSlotsToTheFront) {
  torch::manual_seed(4);
  std::vector<RowRef> ref;
  auto cache = Filled(6, ref);
  int64_t longest = 0;
  for (const auto& r : ref) longest = std::max(longest, r.size());
  cache.Pack(3);
  EXPECT_EQ(cache.filled(), longest);
  EXPECT_EQ(cache.capacity(), longest + 3);
  ExpectMatches(cache, ref, "pack");
  for (int64_t b = 0; b < 6; ++b) {  // a prefix of slots per row
    EXPECT_EQ(cache.key_valid()[b].narrow(0, 0, ref[b].size()).all().item<bool>(), true) << b;
  }
  Step(cache, ref, torch::ones({6, 3}, torch::kBool));
  EXPECT_EQ(cache.filled(), cache.capacity());
  ExpectMatches(cache, ref, "pack + steps");
}

TEST(KvCacheRows, ReserveGrowsAndKeepsContents) {
  torch::manual_seed(5);
  std::vector<RowRef> ref;
  auto cache = Filled(3, ref, /*capacity=*/7);
  EXPECT_EQ(cache.filled(), cache.capacity());
  cache.Reserve(4);  // never shrinks
  EXPECT_EQ(cache.capacity(), 7);
  cache.Reserve(20);
  EXPECT_EQ(cache.capacity(), 20);
  ExpectMatches(cache, ref, "reserve");
  Step(cache, ref, torch::rand({3, 5}) < 0.5);
  ExpectMatches(cache, ref, "reserve + step");
}

TEST(KvCacheRows, CopyRowsFromInsertsOtherRowsSequences) {
  torch::manual_seed(6);
  std::vector<RowRef> ref, src_ref;
  auto cache = Filled(4, ref, /*capacity=*/8);
  auto source = Filled(3, src_ref);  // ragged: holes in the middle, so not only prefixes
  cache.ResetRows({0, 2, 3});
  cache.CopyRowsFrom(source, {2, 0, 2}, {0, 2, 3});  // row 1 keeps its own; source row 2 twice
  ref[0] = src_ref[2];
  ref[2] = src_ref[0];
  ref[3] = src_ref[2];
  int64_t width = std::max(src_ref[0].size(), src_ref[2].size());
  EXPECT_EQ(cache.filled(), 7 + width);
  EXPECT_GE(cache.capacity(), cache.filled());  // grew past 8 when needed
  ExpectMatches(cache, ref, "copy");
  cache.Reserve(cache.filled() + 1);
  Step(cache, ref, torch::ones({4, 1}, torch::kBool));
  ExpectMatches(cache, ref, "copy + step");
  // The source is unchanged.
  ExpectMatches(source, src_ref, "source");
}

}  // namespace
}  // namespace brain::model
