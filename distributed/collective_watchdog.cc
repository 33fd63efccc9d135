// The collective watchdog thread and its report.
#include "distributed/collective_watchdog.h"

#include <mpi.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_format.h"

namespace brain::distributed {
namespace {

constexpr int kAbortExitCode = 75;

void PrintAndAbort(const std::string& report) {
  std::fputs(report.c_str(), stderr);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, kAbortExitCode);
}

}  // namespace

CollectiveWatchdog::CollectiveWatchdog(int rank, double timeout_s,
                                       std::function<void(const std::string&)> on_timeout)
    : rank_(rank), timeout_s_(timeout_s), on_timeout_(on_timeout ? on_timeout : PrintAndAbort) {
  thread_ = std::thread([this] { Run(); });
}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t CollectiveWatchdog::Begin(const std::string& op, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  Record record{next_seq_++, op, bytes, Clock::now(), -1};
  in_flight_[record.seq] = record;
  history_[record.seq % kHistory] = record;
  return record.seq;
}

void CollectiveWatchdog::End(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = in_flight_.find(seq);
  if (it == in_flight_.end()) return;
  const double seconds = std::chrono::duration<double>(Clock::now() - it->second.start).count();
  if (history_[seq % kHistory].seq == seq) history_[seq % kHistory].seconds = seconds;
  in_flight_.erase(it);
}

void CollectiveWatchdog::Run() {
  // Poll often enough to fire within ~1 s of the deadline, without busy waiting.
  const auto period = std::chrono::duration<double>(std::clamp(timeout_s_ / 4, 0.05, 1.0));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, period);
    if (stop_ || in_flight_.empty()) continue;
    const Clock::time_point now = Clock::now();
    const double oldest = std::chrono::duration<double>(now - in_flight_.begin()->second.start).count();
    if (oldest > timeout_s_) {
      const std::string report = ReportLocked(now);
      stop_ = true;  // report once
      lock.unlock();
      on_timeout_(report);
      return;
    }
  }
}

std::string CollectiveWatchdog::Report() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ReportLocked(Clock::now());
}

std::string CollectiveWatchdog::ReportLocked(Clock::time_point now) const {
  std::string out = absl::StrFormat(
      "[brain watchdog] rank %d: collective timed out after %.1f s (timeout %.1f s); aborting the job\n",
      rank_,
      in_flight_.empty() ? 0.0
                         : std::chrono::duration<double>(now - in_flight_.begin()->second.start).count(),
      timeout_s_);
  for (const auto& [seq, r] : in_flight_) {
    absl::StrAppendFormat(&out, "[brain watchdog] rank %d: stuck: seq %d op %s bytes %d running %.1f s\n",
                          rank_, seq, r.op, r.bytes,
                          std::chrono::duration<double>(now - r.start).count());
  }
  absl::StrAppendFormat(&out, "[brain watchdog] rank %d: last %d collectives (oldest first):\n", rank_,
                        kHistory);
  const uint64_t last = next_seq_ - 1;
  const uint64_t first = last >= kHistory ? last - kHistory + 1 : 1;
  for (uint64_t seq = first; seq <= last; ++seq) {
    const Record& r = history_[seq % kHistory];
    if (r.seq != seq) continue;
    if (r.seconds < 0) {
      absl::StrAppendFormat(&out, "  seq %d %s %d bytes: IN FLIGHT\n", r.seq, r.op, r.bytes);
    } else {
      absl::StrAppendFormat(&out, "  seq %d %s %d bytes: %.3f ms\n", r.seq, r.op, r.bytes, r.seconds * 1e3);
    }
  }
  return out;
}

}  // namespace brain::distributed
