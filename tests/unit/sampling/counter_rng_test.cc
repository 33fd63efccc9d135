// Philox4x32-10 against the Random123 known-answer vectors; CounterUniform range, keying and moments.
#include "core/sampling/counter_rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/sampling/sampling_options.h"
#include "proto/config.pb.h"

namespace brain::sampling {
namespace {

TEST(Philox, KnownAnswers) {
  // Random123's kat_vectors (philox4x32 10: counter, key -> output).
  EXPECT_EQ(Philox4x32({0, 0, 0, 0}, {0, 0}),
            (std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(Philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(Philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (std::array<uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(CounterUniform, DeterministicAndKeyedByEveryField) {
  const SeedContext seed{42, 3};
  const double u = CounterUniform(seed, 7, 2, 5);
  EXPECT_EQ(u, CounterUniform(seed, 7, 2, 5));
  std::set<double> distinct = {u, CounterUniform({43, 3}, 7, 2, 5), CounterUniform({42, 4}, 7, 2, 5),
                               CounterUniform(seed, 8, 2, 5), CounterUniform(seed, 7, 3, 5),
                               CounterUniform(seed, 7, 2, 6), CounterUniform(seed, -7, 2, 5)};
  EXPECT_EQ(distinct.size(), 7u);
}

TEST(CounterUniform, UniformMoments) {
  const SeedContext seed{1234, 0};
  const int n = 200000;
  double sum = 0, sum2 = 0;
  int buckets[10] = {};
  for (int i = 0; i < n; ++i) {
    const double u = CounterUniform(seed, i % 97, i / 97, i % 5);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
    ++buckets[static_cast<int>(u * 10)];
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);
  EXPECT_NEAR(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 0.003);
  double chi2 = 0;
  for (int b : buckets) chi2 += (b - n / 10.0) * (b - n / 10.0) / (n / 10.0);
  EXPECT_LT(chi2, 27.9);  // chi-square(9) at p = 0.001
}

TEST(SamplingOptions, FromConfig) {
  config::SamplingConfig c;
  c.set_temperature(0.7);
  c.set_top_k(40);
  c.set_top_p(0.9);
  c.set_max_new_tokens(64);
  c.set_min_new_tokens(2);
  c.add_stop_strings("\n\n");
  c.add_stop_token_ids(13);
  c.set_batch_size(8);
  auto o = SamplingOptionsFromConfig(c);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->temperature, 0.7);
  EXPECT_EQ(o->top_k, 40);
  EXPECT_EQ(o->top_p, 0.9);
  EXPECT_EQ(o->max_new_tokens, 64);
  EXPECT_EQ(o->min_new_tokens, 2);
  EXPECT_EQ(o->stop_strings, std::vector<std::string>{"\n\n"});
  EXPECT_EQ(o->stop_token_ids, std::vector<int64_t>{13});
  EXPECT_EQ(o->batch_size, 8);
  const auto defaults = SamplingOptionsFromConfig(config::SamplingConfig());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->temperature, 1.0);
  EXPECT_EQ(defaults->max_new_tokens, 128);
  c.set_top_p(1.5);
  const auto bad = SamplingOptionsFromConfig(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("sampling.top_p: must be in (0, 1] (got 1.5)"), std::string::npos)
      << bad.status();
}

}  // namespace
}  // namespace brain::sampling
