// Cross-rank metric means.
#include "core/train/metrics_reduction.h"

#include <torch/torch.h>

#include <functional>

namespace brain::train {

void MetricsAccumulator::Add(const std::map<std::string, double>& metrics) {
  for (const auto& [name, value] : metrics) {
    sums_[name] += value;
    counts_[name] += 1;
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
    for (const auto& [name, sum] : sums_) out[name] = sum / counts_.at(name);
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
    out[name] = v[2 * i + 1] > 0 ? v[2 * i] / v[2 * i + 1] : 0.0;
    ++i;
  }
  return out;
}

}  // namespace brain::train
