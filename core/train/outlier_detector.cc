// Running-median outlier detection over a fixed window of accepted values.
#include "core/train/outlier_detector.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>


namespace brain::train {

OutlierDetector::OutlierDetector(double factor, int window, int warmup)
    : factor_(factor), window_(window), warmup_(warmup) {
  if (window < 1 || warmup < 1 || warmup > window) {
    throw std::invalid_argument("OutlierDetector: need 1 <= warmup <= window");
  }
}

double OutlierDetector::Median() const {
  if (values_.empty()) return 0;
  std::vector<double> sorted(values_.begin(), values_.end());
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

bool OutlierDetector::IsOutlier(double value) const {
  if (!std::isfinite(value)) return true;
  if (factor_ <= 0 || accepted() < warmup_) return false;
  return value > factor_ * Median();
}

void OutlierDetector::Accept(double value) {
  if (!std::isfinite(value)) return;
  values_.push_back(value);
  while (static_cast<int>(values_.size()) > window_) values_.pop_front();
}

bool OutlierDetector::Check(double value) {
  const bool outlier = IsOutlier(value);
  if (!outlier) Accept(value);
  return outlier;
}

checkpoint::OutlierDetectorState OutlierDetector::ToProto() const {
  checkpoint::OutlierDetectorState state;
  state.set_factor(factor_);
  state.set_window(window_);
  state.set_warmup(warmup_);
  for (double v : values_) state.add_values(v);
  return state;
}

absl::Status OutlierDetector::FromProto(const checkpoint::OutlierDetectorState& state) {
  for (double v : state.values()) {
    if (!std::isfinite(v)) return absl::InvalidArgumentError("outlier detector state: a non-finite value");
  }
  // The factor and warm-up come from this run's config; a smaller window keeps the newest values.
  const int skip = std::max(0, state.values_size() - window_);
  values_.assign(state.values().begin() + skip, state.values().end());
  return absl::OkStatus();
}

}  // namespace brain::train
