// Shared helpers of the communicators.
#include "distributed/communicator.h"

namespace brain::distributed {

const char* ReduceOpName(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kMax: return "max";
    case ReduceOp::kMin: return "min";
    case ReduceOp::kAvg: return "avg";
  }
  return "?";
}

std::vector<int64_t> EvenSplit(int64_t total, int parts) {
  std::vector<int64_t> counts(parts, total / parts);
  for (int64_t i = 0; i < total % parts; ++i) ++counts[i];
  return counts;
}

}  // namespace brain::distributed
