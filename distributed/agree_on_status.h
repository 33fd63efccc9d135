// Agreeing on success across ranks, so that a failure on one rank ends the step on every rank.
#pragma once

#include "absl/status/status.h"
#include "distributed/communicator.h"

namespace brain::distributed {

// Collective: OK only when every rank's `local` is OK. A failed rank returns its own error; the others
// return an Aborted error saying another rank failed (its message is on that rank's stderr). Call it
// after any rank-local step that can fail and is followed by collectives: without it the failed rank
// returns while the others wait in their next collective until the watchdog fires.
absl::Status AgreeOnStatus(Communicator& comm, const absl::Status& local);

}  // namespace brain::distributed
