// Global normalisers: unit counts summed over all ranks. (Cross-rank group log-sum-exp for BRAIn's
// SAMPLE_PARALLEL placement is objectives::GroupLogSumExp over a CommunicatorGroupReducer.)
#pragma once

#include "distributed/communicator.h"

namespace brain::distributed {

// Σ over ranks of `local` (e.g. tokens, pairs or groups in this rank's micro-batches): the loss
// normaliser that makes the loss independent of world size (spec §1). Exact for counts below 2^53.
double GlobalSum(Communicator& comm, double local);

}  // namespace brain::distributed
