// OutlierDetector: flags a loss or gradient norm above `factor` times the running median of recent values.
#pragma once

#include <deque>

#include "absl/status/status.h"
#include "proto/checkpoint.pb.h"

namespace brain::train {

class OutlierDetector {
 public:
  // `factor` <= 0 turns detection off (only non-finite values are outliers). The median covers the
  // last `window` accepted values; before `warmup` values were accepted nothing finite is an outlier.
  explicit OutlierDetector(double factor, int window = 32, int warmup = 5);

  // True when `value` is not finite, or detection is on, warm-up is over and value > factor × median.
  bool IsOutlier(double value) const;
  // Adds a value of an update that was applied (callers do not Accept outliers).
  void Accept(double value);
  // IsOutlier, then Accept when it is not one.
  bool Check(double value);

  // The median of the window (mean of the middle two for an even count); 0 when empty.
  double Median() const;
  int accepted() const { return static_cast<int>(values_.size()); }

  // Exact state (doubles are stored bitwise) for checkpoints. FromProto restores the values (the newest
  // `window` of them); factor and warm-up stay this detector's. It fails on non-finite values.
  checkpoint::OutlierDetectorState ToProto() const;
  absl::Status FromProto(const checkpoint::OutlierDetectorState& state);

 private:
  double factor_;
  int window_;
  int warmup_;
  std::deque<double> values_;  // oldest first
};

}  // namespace brain::train
