// TrainerObserver: what a training run shows and records — the rank-0 progress line, per-phase timers,
// metrics.jsonl and TensorBoard scalars, tokens/s and MFU.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/model/causal_lm.h"
#include "core/train/progress.h"
#include "distributed/communicator.h"
#include "proto/config.pb.h"

namespace brain::train {

class MetricsLogger;

class TrainerObserver {
 public:
  TrainerObserver(const config::ExperimentConfig& config, distributed::Communicator& comm, std::string run_dir,
                  std::string label, int64_t total_steps, int64_t start_step, const model::CausalLm& model);
  ~TrainerObserver();

  // Opens metrics.jsonl (dropping lines past start_step of a resumed run) and TensorBoard (rank 0).
  absl::Status Open();
  PhaseTimers::Scope Phase(const std::string& name) { return timers_.Time(name); }
  PhaseTimers& timers() { return timers_; }
  // A new round (BRAIn: its sample/score metrics are logged with the next step).
  void RoundBegun(int64_t round, const std::map<std::string, double>& metrics);
  // After step `step` (1-based count of steps done): progress line and, every logging.every_steps
  // steps (and at the last), a metrics.jsonl line. `metrics` must hold "tokens" and "step_seconds".
  absl::Status StepDone(int64_t step, std::map<std::string, double> metrics);
  void Note(const std::string& line);
  absl::Status Close();

 private:
  const config::ExperimentConfig& config_;
  bool main_;
  std::string run_dir_, label_;
  int64_t total_steps_, start_step_;
  double flops_per_token_ = 0, peak_flops_ = 0;
  PhaseTimers timers_;
  std::unique_ptr<ProgressReporter> progress_;
  std::unique_ptr<MetricsLogger> logger_;
  std::map<std::string, double> pending_round_metrics_;
};

}  // namespace brain::train
