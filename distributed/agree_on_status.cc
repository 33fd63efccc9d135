// AgreeOnStatus: one MAX all-reduce of a failure flag.
#include "distributed/agree_on_status.h"

#include <torch/torch.h>

namespace brain::distributed {

absl::Status AgreeOnStatus(Communicator& comm, const absl::Status& local) {
  torch::Tensor failed = torch::tensor({local.ok() ? 0.0 : 1.0}, torch::kDouble);
  comm.AllReduce(failed, ReduceOp::kMax);
  if (!local.ok()) return local;
  if (failed.item<double>() > 0) return absl::AbortedError("another rank failed (its error is above)");
  return absl::OkStatus();
}

}  // namespace brain::distributed
