// CollectiveWatchdog: numbers every collective and aborts the job with a report when one hangs.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace brain::distributed {

class CollectiveWatchdog {
 public:
  static constexpr int kHistory = 32;
  using Clock = std::chrono::steady_clock;

  // `on_timeout` receives the report; the default prints it to stderr and calls MPI_Abort.
  CollectiveWatchdog(int rank, double timeout_s,
                     std::function<void(const std::string& report)> on_timeout = nullptr);
  ~CollectiveWatchdog();
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  // Registers a collective about to start; returns its sequence number (1, 2, ...).
  uint64_t Begin(const std::string& op, int64_t bytes);
  // Marks collective `seq` finished.
  void End(uint64_t seq);

  double timeout_s() const { return timeout_s_; }
  // The report printed on timeout: this rank, the stuck collective(s), the last kHistory collectives.
  std::string Report() const;

 private:
  struct Record {
    uint64_t seq = 0;
    std::string op;
    int64_t bytes = 0;
    Clock::time_point start;
    double seconds = -1;  // < 0 while in flight
  };
  void Run();
  std::string ReportLocked(Clock::time_point now) const;

  const int rank_;
  const double timeout_s_;
  std::function<void(const std::string&)> on_timeout_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, Record> in_flight_;
  std::array<Record, kHistory> history_{};  // ring buffer of started collectives
  std::thread thread_;
};

}  // namespace brain::distributed
