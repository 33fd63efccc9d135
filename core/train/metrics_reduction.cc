// Cross-rank metric means.
#include "core/train/metrics_reduction.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>

namespace brain::train {

namespace {

// Metrics that count units: reported as totals over the step, not means over micro-batches.
bool IsTotal(const std::string& name) {
  return name == "groups" || name == "dropped" || name == "tokens" || name == "sequences" || name == "pairs";
}

double Finish(const std::string& name, double sum, double count) {
  if (IsTotal(name)) return sum;
  return count > 0 ? sum / count : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

void MetricsAccumulator::Add(const std::map<std::string, double>& metrics) {
  for (const auto& [name, value] : metrics) {
    // A non-finite value (e.g. a mean over no kept samples) registers the name but does not count.
    const bool finite = std::isfinite(value);
    sums_[name] += finite ? value : 0.0;
    counts_[name] += finite ? 1 : 0;
  }
}

std::map<std::string, double> MetricsAccumulator::Reduce(distributed::Communicator& comm) const {
  // Ranks reduce together only when all hold the same metric names (max hash == min hash); a rank
  // without micro-batches has none, and then every rank reports its own means. The decision is the
  // same on every rank, so the collectives always match.
  uint64_t hash = 1469598103934665603ull;
  for (const auto& [name, _] : sums_) hash = (hash ^ std::hash<std::string>()(name)) * 1099511628211ull;
  const double h = static_cast<double>(hash % (1ull << 52));
  torch::Tensor check = torch::tensor({h, -h}, torch::kDouble);
  comm.AllReduce(check, distributed::ReduceOp::kMax);
  const bool same_names = check[0].item<double>() == -check[1].item<double>();
  std::map<std::string, double> out;
  if (!same_names || sums_.empty()) {
    for (const auto& [name, sum] : sums_) out[name] = Finish(name, sum, counts_.at(name));
    return out;
  }
  torch::Tensor values = torch::zeros({static_cast<int64_t>(2 * sums_.size())}, torch::kDouble);
  auto* v = values.data_ptr<double>();
  size_t i = 0;
  for (const auto& [name, sum] : sums_) {
    v[2 * i] = sum;
    v[2 * i + 1] = counts_.at(name);
    ++i;
  }
  comm.AllReduce(values, distributed::ReduceOp::kSum);
  i = 0;
  for (const auto& [name, _] : sums_) {
    out[name] = Finish(name, v[2 * i], v[2 * i + 1]);
    ++i;
  }
  return out;
}

}  // namespace brain::train
