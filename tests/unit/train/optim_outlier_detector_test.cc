// OutlierDetector: warm-up, factor × running median over the window, non-finite values, exact state.
#include "core/train/outlier_detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace brain::train {
namespace {

double NaiveMedian(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

TEST(OutlierDetector, WarmupThenFactorTimesMedian) {
  OutlierDetector d(3.0, 8, 3);
  EXPECT_FALSE(d.Check(1.0));
  EXPECT_FALSE(d.Check(100.0));  // still warming up: accepted
  EXPECT_FALSE(d.IsOutlier(1e9));
  EXPECT_FALSE(d.Check(2.0));
  // Window {1, 100, 2}: median 2, threshold 6.
  EXPECT_DOUBLE_EQ(d.Median(), 2.0);
  EXPECT_TRUE(d.IsOutlier(6.5));
  EXPECT_FALSE(d.IsOutlier(6.0));
  EXPECT_TRUE(d.Check(7.0));
  EXPECT_EQ(d.accepted(), 3);  // outliers are not accepted
  EXPECT_TRUE(d.IsOutlier(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_TRUE(d.IsOutlier(std::numeric_limits<double>::infinity()));
}

TEST(OutlierDetector, OffStillRejectsNonFinite) {
  OutlierDetector d(0.0);
  for (int i = 0; i < 10; ++i) d.Accept(1.0);
  EXPECT_FALSE(d.IsOutlier(1e12));
  EXPECT_TRUE(d.IsOutlier(std::nan("")));
}

TEST(OutlierDetector, WindowMedianMatchesNaiveRecomputation) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(0.0, 0.5);
  OutlierDetector d(2.5, 32, 5);
  std::vector<double> accepted;
  for (int i = 0; i < 300; ++i) {
    const double v = i % 37 == 36 ? 50.0 : dist(rng);
    const std::vector<double> window(accepted.end() - std::min<size_t>(accepted.size(), 32), accepted.end());
    const bool expected = window.size() >= 5 && v > 2.5 * NaiveMedian(window);
    ASSERT_EQ(d.Check(v), expected) << "value " << i;
    if (!expected) accepted.push_back(v);
    ASSERT_DOUBLE_EQ(d.Median(), NaiveMedian(std::vector<double>(
                                     accepted.end() - std::min<size_t>(accepted.size(), 32), accepted.end())));
  }
}

TEST(OutlierDetector, StateRoundTripIsExact) {
  OutlierDetector a(2.0, 6, 2);
  for (double v : {0.1, 0.3, 1.0 / 3.0, 0.2, 0.25, 0.7, 0.15, 0.12}) a.Check(v);
  const checkpoint::OutlierDetectorState state = a.ToProto();
  EXPECT_EQ(state.values_size(), 6);  // the window
  checkpoint::OutlierDetectorState parsed;
  ASSERT_TRUE(parsed.ParseFromString(state.SerializeAsString()));
  OutlierDetector b(2.0, 6, 2);
  ASSERT_TRUE(b.FromProto(parsed).ok());
  EXPECT_EQ(b.accepted(), a.accepted());
  for (double v : {0.3, 0.9, 0.5, 0.05, 2.0, 0.4}) ASSERT_EQ(a.Check(v), b.Check(v)) << v;
  EXPECT_EQ(a.Median(), b.Median());
  parsed.add_values(std::nan(""));
  EXPECT_FALSE(b.FromProto(parsed).ok());
}

}  // namespace
}  // namespace brain::train
