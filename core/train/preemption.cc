// Signal-driven preemption flag.
#include "core/train/preemption.h"

#include <csignal>

namespace brain::train {
namespace {

volatile std::sig_atomic_t preempted = 0;

void OnSignal(int) { preempted = 1; }

}  // namespace

void InstallPreemptionHandlers() {
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool PreemptionRequested() { return preempted != 0; }

void RequestPreemption() { preempted = 1; }

}  // namespace brain::train
