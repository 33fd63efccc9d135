// The watchdog in one process: sequence numbers, history, and the timeout callback with its report.
#include "distributed/collective_watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace brain::distributed {
namespace {

TEST(CollectiveWatchdog, NumbersCollectivesAndKeepsHistory) {
  std::atomic<int> fired{0};
  CollectiveWatchdog dog(3, 30.0, [&](const std::string&) { fired++; });
  for (int i = 1; i <= 40; ++i) {
    EXPECT_EQ(dog.Begin("all_reduce", 8 * i), static_cast<uint64_t>(i));
    dog.End(i);
  }
  const std::string report = dog.Report();
  EXPECT_EQ(report.find("seq 8 all_reduce"), std::string::npos) << "only the last 32 are kept";
  EXPECT_NE(report.find("seq 9 all_reduce 72 bytes"), std::string::npos) << report;
  EXPECT_NE(report.find("seq 40 all_reduce 320 bytes"), std::string::npos) << report;
  EXPECT_EQ(fired.load(), 0);
}

TEST(CollectiveWatchdog, FiresOnceWithReportWhenACollectiveHangs) {
  std::atomic<int> fired{0};
  std::string report;
  std::mutex m;
  {
    CollectiveWatchdog dog(1, 0.2, [&](const std::string& r) {
      std::lock_guard<std::mutex> lock(m);
      report = r;
      fired++;
    });
    dog.End(dog.Begin("broadcast", 16));
    dog.Begin("all_gather", 1024);  // never ends
    const auto start = std::chrono::steady_clock::now();
    while (fired.load() == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ASSERT_EQ(fired.load(), 1);
  EXPECT_NE(report.find("rank 1: collective timed out"), std::string::npos) << report;
  EXPECT_NE(report.find("stuck: seq 2 op all_gather bytes 1024"), std::string::npos) << report;
  EXPECT_NE(report.find("seq 1 broadcast 16 bytes"), std::string::npos) << report;
  EXPECT_NE(report.find("seq 2 all_gather 1024 bytes: IN FLIGHT"), std::string::npos) << report;
}

TEST(CollectiveWatchdog, SlowButFinishedCollectivesDoNotFire) {
  std::atomic<int> fired{0};
  {
    CollectiveWatchdog dog(0, 0.5, [&](const std::string&) { fired++; });
    for (int i = 0; i < 5; ++i) {
      const uint64_t seq = dog.Begin("barrier", 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      dog.End(seq);
    }
  }
  EXPECT_EQ(fired.load(), 0);
}

}  // namespace
}  // namespace brain::distributed
