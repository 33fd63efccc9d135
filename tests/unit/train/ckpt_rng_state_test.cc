// RNG state capture/restore: draw, capture, draw, restore, draw again — the two later draws are equal.
#include "core/train/rng_state.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace brain::train {
namespace {

TEST(RngState, TorchCpuGeneratorRoundTrip) {
  at::manual_seed(11);
  at::randn({5});
  const std::string state = CaptureTorchCpuRngState();
  const at::Tensor first = at::randn({7}, at::kDouble);     // uses the cached-normal path too
  const at::Tensor first_u = at::rand({3});
  at::manual_seed(999);                                      // disturb
  at::randn({13});
  ASSERT_TRUE(RestoreTorchCpuRngState(state).ok());
  EXPECT_TRUE(at::randn({7}, at::kDouble).equal(first));
  EXPECT_TRUE(at::rand({3}).equal(first_u));
  EXPECT_FALSE(RestoreTorchCpuRngState(state.substr(0, state.size() / 2)).ok());
  // Through a uint8 tensor (how a rank keeps its state in its checkpoint shard).
  const at::Tensor t = BytesToTensor(state);
  EXPECT_EQ(t.scalar_type(), at::kByte);
  EXPECT_EQ(t.numel(), static_cast<int64_t>(state.size()));
  EXPECT_EQ(TensorToBytes(t), state);
  EXPECT_EQ(TensorToBytes(at::tensor({1, 2, 258}, at::kShort)), std::string("\1\0\2\0\2\1", 6));
}

TEST(RngState, Mt19937RoundTrip) {
  std::mt19937_64 engine(42);
  for (int i = 0; i < 10; ++i) engine();
  const std::string state = CaptureEngineState(engine);
  std::vector<uint64_t> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(engine());
  std::mt19937_64 other(7);
  ASSERT_TRUE(RestoreEngineState(state, other).ok());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(other(), expected[i]) << i;
  // Independent reference: a fresh engine seeded 42 and advanced 10 draws gives the same sequence.
  std::mt19937_64 fresh(42);
  fresh.discard(10);
  EXPECT_EQ(fresh(), expected[0]);
  std::mt19937_64 untouched(5);
  const std::mt19937_64 before = untouched;
  EXPECT_FALSE(RestoreEngineState(state.substr(0, state.size() / 3), untouched).ok());
  EXPECT_TRUE(untouched == before);
  EXPECT_FALSE(RestoreEngineState(state + " 17", untouched).ok());
}

}  // namespace
}  // namespace brain::train
