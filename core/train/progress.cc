// Phase timers, progress-line formatting and printing, and MFU arithmetic.
#include "core/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace brain::train {
namespace {

int StandardRank(const std::string& phase) {
  int rank = 0;
  for (const char* name : kStandardPhases) {
    if (phase == name) return rank;
    ++rank;
  }
  return rank;  // after the standard ones
}

}  // namespace

Clock SteadyClock() {
  return [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
}

// ---------------------------------------------------------------- PhaseTimers

double PhaseTimers::Scope::Stop() {
  if (timers_ == nullptr) return 0;
  const double seconds = std::max(0.0, timers_->clock_() - start_);
  timers_->Add(phase_, seconds);
  timers_ = nullptr;
  return seconds;
}

void PhaseTimers::Add(absl::string_view phase, double seconds) { current_[std::string(phase)] += seconds; }

void PhaseTimers::EndStep() {
  for (const auto& [phase, seconds] : current_) totals_[phase] += seconds;
  last_ = std::move(current_);
  current_.clear();
  ++steps_;
}

std::vector<std::pair<std::string, double>> PhaseTimers::Ordered(const std::map<std::string, double>& times) {
  std::vector<std::pair<std::string, double>> ordered(times.begin(), times.end());
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return StandardRank(a.first) < StandardRank(b.first);
  });
  return ordered;
}

// ---------------------------------------------------------------- formatting

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const int64_t total = static_cast<int64_t>(std::llround(seconds));
  const int64_t hours = total / 3600, minutes = (total / 60) % 60, secs = total % 60;
  if (hours > 0) return absl::StrFormat("%d:%02d:%02d", hours, minutes, secs);
  return absl::StrFormat("%02d:%02d", minutes, secs);
}

std::string FormatCount(double value) {
  if (!std::isfinite(value)) return "?";
  static constexpr const char* kSuffixes[] = {"", "k", "M", "G", "T"};
  int i = 0;
  double scaled = value;
  while (std::fabs(scaled) >= 999.5 && i < 4) {
    scaled /= 1000;
    ++i;
  }
  if (i == 0) return absl::StrFormat("%.0f", value);
  if (std::fabs(scaled) < 9.95) return absl::StrFormat("%.1f%s", scaled, kSuffixes[i]);
  return absl::StrFormat("%.0f%s", scaled, kSuffixes[i]);
}

std::string FormatProgressLine(absl::string_view label, const ProgressSnapshot& s, int bar_width) {
  const double fraction =
      s.total_steps > 0
          ? std::clamp(static_cast<double>(s.step) / static_cast<double>(s.total_steps), 0.0, 1.0)
          : 0.0;
  const int filled = static_cast<int>(std::floor(fraction * bar_width + 1e-9));
  std::string bar = "\u2595";                                                   // ▕
  for (int i = 0; i < bar_width; ++i) bar += i < filled ? "\u2588" : "\u2591";  // █ ░
  bar += "\u258f";                                                              // ▏
  std::string line = absl::StrFormat("[%s] step %d/%d %s %d%%", label, s.step, s.total_steps, bar,
                                     static_cast<int>(std::floor(fraction * 100 + 1e-9)));
  for (const auto& [name, value] : s.metrics)
    absl::StrAppend(&line, " | ", name, " ", absl::StrFormat("%.3g", value));
  if (s.tokens_per_second >= 0) absl::StrAppend(&line, " | ", FormatCount(s.tokens_per_second), " tok/s");
  if (s.mfu >= 0) absl::StrAppend(&line, " | MFU ", absl::StrFormat("%.2g", s.mfu * 100), "%");
  double eta = -1;
  if (s.steps_this_run > 0) {
    eta = s.elapsed_seconds / static_cast<double>(s.steps_this_run) *
          static_cast<double>(std::max<int64_t>(0, s.total_steps - s.step));
  }
  absl::StrAppend(&line, " | ETA ", FormatDuration(eta));
  double phase_sum = 0;
  for (const auto& phase : s.phase_seconds) phase_sum += phase.second;
  if (phase_sum > 0) {
    absl::StrAppend(&line, " |");
    for (const auto& [name, seconds] : s.phase_seconds) {
      absl::StrAppend(&line, " ", name, " ", static_cast<int>(std::lround(100 * seconds / phase_sum)), "%");
    }
  }
  return line;
}

// ---------------------------------------------------------------- ProgressReporter

ProgressReporter::ProgressReporter(ProgressOptions options)
    : options_(std::move(options)), start_time_(options_.clock()) {
  tty_ =
      options_.tty >= 0 ? options_.tty == 1 : (options_.out != nullptr && isatty(fileno(options_.out)) == 1);
}

std::string ProgressReporter::Update(int64_t step, const std::map<std::string, double>& metrics,
                                     double tokens_per_second, double mfu,
                                     const std::map<std::string, double>& phase_seconds) {
  if (!options_.enabled || options_.out == nullptr) return "";
  ProgressSnapshot s;
  s.step = step;
  s.total_steps = options_.total_steps;
  s.steps_this_run = step - options_.start_step;
  s.elapsed_seconds = options_.clock() - start_time_;
  for (const std::string& key : options_.metric_keys) {
    auto it = metrics.find(key);
    if (it != metrics.end()) s.metrics.emplace_back(key, it->second);
  }
  s.tokens_per_second = tokens_per_second;
  s.mfu = mfu;
  s.phase_seconds = PhaseTimers::Ordered(phase_seconds);
  const std::string line = FormatProgressLine(options_.label, s, options_.bar_width);
  if (tty_) {
    std::fprintf(options_.out, "\r%s\033[K", line.c_str());
    line_open_ = true;
  } else {
    std::fprintf(options_.out, "%s\n", line.c_str());
  }
  std::fflush(options_.out);
  return line;
}

void ProgressReporter::Finish() {
  if (line_open_ && options_.out != nullptr) {
    std::fputc('\n', options_.out);
    std::fflush(options_.out);
  }
  line_open_ = false;
}

// ---------------------------------------------------------------- MFU

double InferenceFlopsPerToken(const ModelFlopsShape& m) {
  return 2 * m.params + 4 * m.layers * m.hidden * m.context;
}

double TrainingFlopsPerToken(const ModelFlopsShape& m) { return 3 * InferenceFlopsPerToken(m); }

double Mfu(double flops_per_token, double tokens_per_second, double peak_flops) {
  if (peak_flops <= 0) return 0;
  return flops_per_token * tokens_per_second / peak_flops;
}

double AssumedCpuPeakFlops(int threads) { return std::max(1, threads) * 96e9; }

}  // namespace brain::train
