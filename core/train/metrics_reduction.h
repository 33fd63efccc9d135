// MetricsAccumulator: objective metrics averaged over a step's micro-batches and all ranks.
#pragma once

#include <map>
#include <string>

#include "distributed/communicator.h"

namespace brain::train {

class MetricsAccumulator {
 public:
  void Add(const std::map<std::string, double>& metrics);
  // Mean of each metric over every micro-batch of every rank (one SUM all-reduce). When the ranks'
  // metric names differ (e.g. a rank without micro-batches), each rank returns its own means.
  std::map<std::string, double> Reduce(distributed::Communicator& comm) const;

 private:
  std::map<std::string, double> sums_;
  std::map<std::string, double> counts_;
};

}  // namespace brain::train
