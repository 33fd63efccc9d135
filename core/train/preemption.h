// Preemption: SIGUSR1/SIGTERM ask a training run to checkpoint at the next step boundary and exit 75.
#pragma once

namespace brain::train {

// `brain` exits with this status after checkpointing on request ("checkpointed; resume me"); Slurm
// templates requeue the job on it.
inline constexpr int kExitPreempted = 75;

// Installs handlers for SIGUSR1 and SIGTERM that only set a flag (async-signal-safe). Idempotent.
void InstallPreemptionHandlers();

// Whether a preemption signal arrived in this process. Ranks agree on it with one MAX all-reduce per
// step (see Trainer), so every rank checkpoints at the same step even if only one got the signal.
bool PreemptionRequested();

// Sets the flag as a signal would (tests, and a `--stop-after-steps` style hook).
void RequestPreemption();

}  // namespace brain::train
