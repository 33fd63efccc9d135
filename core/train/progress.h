// Progress reporting: per-phase timers (sample, score, train, sync, checkpoint), the rank-0 progress line
// (bar, metrics, tokens/s, MFU, ETA, phase shares), and model-FLOPs-utilisation helpers.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace brain::train {

// A monotonic clock in seconds; tests inject their own.
using Clock = std::function<double()>;
Clock SteadyClock();

// The phases of a training step, in display order. Other names may be used; they are shown after these.
inline constexpr const char* kStandardPhases[] = {"sample", "score", "train", "sync", "optimizer", "checkpoint"};

// Accumulates wall time per named phase, for the current step and for the whole run. Not thread-safe.
class PhaseTimers {
 public:
  explicit PhaseTimers(Clock clock = SteadyClock()) : clock_(std::move(clock)) {}

  // Adds the time from construction to destruction to `phase` of the current step.
  class Scope {
   public:
    Scope(PhaseTimers* timers, std::string phase)
        : timers_(timers), phase_(std::move(phase)), start_(timers->clock_()) {}
    Scope(Scope&& other) noexcept
        : timers_(std::exchange(other.timers_, nullptr)),
          phase_(std::move(other.phase_)),
          start_(other.start_) {}
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    Scope& operator=(Scope&&) = delete;
    ~Scope() { Stop(); }
    // Ends the scope early (idempotent); returns the seconds added (0 when already stopped).
    double Stop();

   private:
    PhaseTimers* timers_;
    std::string phase_;
    double start_;
  };

  Scope Time(absl::string_view phase) { return Scope(this, std::string(phase)); }
  void Add(absl::string_view phase, double seconds);
  // Closes the current step: its times become LastStep() and are added to Totals().
  void EndStep();

  const std::map<std::string, double>& CurrentStep() const { return current_; }
  const std::map<std::string, double>& LastStep() const { return last_; }
  const std::map<std::string, double>& Totals() const { return totals_; }
  int64_t steps() const { return steps_; }
  // (phase, seconds) in display order: the standard phases first, then the others by name.
  static std::vector<std::pair<std::string, double>> Ordered(const std::map<std::string, double>& times);

 private:
  Clock clock_;
  std::map<std::string, double> current_, last_, totals_;
  int64_t steps_ = 0;
};

// Everything one progress line shows.
struct ProgressSnapshot {
  int64_t step = 0;  // steps done
  int64_t total_steps = 0;
  int64_t steps_this_run = 0;  // steps done since this process started (the ETA's rate)
  double elapsed_seconds = 0;  // since this process started
  std::vector<std::pair<std::string, double>> metrics;  // shown as "name value" with 3 digits
  double tokens_per_second = -1;                        // < 0: not shown
  double mfu = -1;                                      // model FLOPs utilisation in [0, 1]; < 0: not shown
  std::vector<std::pair<std::string, double>> phase_seconds;  // shown as shares of their sum
};

// "[label] step 12/100 ▕██░░░░░░▏ 12% | loss 0.53 | 1.2k tok/s | MFU 0.3% | ETA 01:23 | sample 40% ..."
// The ETA is elapsed / steps_this_run * (total - step), "--:--" before the first step of this run.
std::string FormatProgressLine(absl::string_view label, const ProgressSnapshot& snapshot, int bar_width = 20);
// "MM:SS" below an hour, else "H:MM:SS"; negative or non-finite → "--:--".
std::string FormatDuration(double seconds);
// Short counts: below 1000 as an integer ("950"), else scaled by k / M / G / T with one decimal below 10
// ("1.2k", "2.5M") and none above ("12k", "345M").
std::string FormatCount(double value);

struct ProgressOptions {
  std::string label = "train";
  int64_t total_steps = 0;
  int64_t start_step = 0;  // the step a resumed run starts from
  bool enabled = true;     // false on ranks other than 0
  std::FILE* out = stderr;
  int tty = -1;  // 1: redraw one line ("\r"); 0: one line per update; -1: isatty(out)
  std::vector<std::string> metric_keys = {"loss"};  // shown when present, in this order
  int bar_width = 20;
  Clock clock = SteadyClock();
};

// Prints a progress line per Update (rank 0 only).
class ProgressReporter {
 public:
  explicit ProgressReporter(ProgressOptions options);
  // `phase_seconds`: e.g. PhaseTimers::Totals(). Returns the line printed ("" when disabled).
  std::string Update(int64_t step, const std::map<std::string, double>& metrics, double tokens_per_second,
                     double mfu, const std::map<std::string, double>& phase_seconds);
  // Ends a redrawn line with a newline (TTY mode).
  void Finish();

 private:
  ProgressOptions options_;
  double start_time_;
  bool tty_;
  bool line_open_ = false;
};

// Model FLOPs per token (PaLM appendix B convention): a forward pass costs 2·params multiply-adds per
// token plus attention 4·layers·hidden·context (QKᵀ and AV over `context` positions); training (forward
// + backward) costs three times that: 6·params + 12·layers·hidden·context.
struct ModelFlopsShape {
  double params = 0;  // non-embedding parameters ideally; all parameters is the usual approximation
  double layers = 0;
  double hidden = 0;   // model width (heads × head size)
  double context = 0;  // mean attended sequence length
};
double TrainingFlopsPerToken(const ModelFlopsShape& shape);
double InferenceFlopsPerToken(const ModelFlopsShape& shape);
// flops_per_token · tokens_per_second / peak_flops (0 when peak_flops <= 0).
double Mfu(double flops_per_token, double tokens_per_second, double peak_flops);
// An assumed fp32 peak for `threads` CPU cores when the caller has no measured one: 2 FMA units × 8 lanes
// (AVX2) × 2 FLOPs × 3 GHz = 96 GFLOP/s per core. Pass a measured or vendor peak for GPUs.
double AssumedCpuPeakFlops(int threads);

}  // namespace brain::train
