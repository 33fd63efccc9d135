// MetricsAccumulator: objective metrics averaged over a step's micro-batches and all ranks.
#pragma once

#include <map>
#include <string>

#include "distributed/communicator.h"

namespace brain::train {

class MetricsAccumulator {
 public:
  void Add(const std::map<std::string, double>& metrics);
  // Over every micro-batch of every rank (one SUM all-reduce): totals for unit counts (groups, dropped,
  // tokens, sequences, pairs), means of the finite values for everything else (NaN when none is). When
  // the ranks' metric names differ (e.g. a rank without micro-batches), each rank reduces its own.
  std::map<std::string, double> Reduce(distributed::Communicator& comm) const;

 private:
  std::map<std::string, double> sums_;
  std::map<std::string, double> counts_;
};

}  // namespace brain::train
