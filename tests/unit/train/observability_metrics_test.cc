// MetricsLogger: metrics.jsonl lines, non-finite values, truncation of a resumed run's later lines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/train/metrics_logger.h"

namespace brain::train {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/observability_metrics_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<int64_t> Steps(const std::string& path) {
  std::vector<int64_t> steps;
  for (const std::string& line : Lines(path))
    steps.push_back(nlohmann::json::parse(line).at("step").get<int64_t>());
  return steps;
}

TEST(MetricsLoggerTest, WritesOneObjectPerStepWithStepAndTimeFirst) {
  const std::string dir = FreshDir("lines");
  auto logger = MetricsLogger::Open({dir, /*tensorboard=*/false, std::nullopt});
  ASSERT_TRUE(logger.ok()) << logger.status();
  EXPECT_EQ((*logger)->metrics_path(), dir + "/metrics.jsonl");
  EXPECT_EQ((*logger)->tensorboard_path(), "");
  ASSERT_TRUE((*logger)->Log(1, {{"loss", 0.5}, {"grad_norm", 2.25}}, 1700000000.5).ok());
  ASSERT_TRUE((*logger)->Log(2, {{"loss", NAN}, {"lr", INFINITY}}, 1700000001.0).ok());
  // Written through at once (no Flush/Close yet).
  const std::vector<std::string> lines = Lines(dir + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], R"({"step":1,"time":1700000000.5,"grad_norm":2.25,"loss":0.5})");
  EXPECT_EQ(lines[1], R"({"step":2,"time":1700000001.0,"loss":null,"lr":null})");
  EXPECT_FALSE(std::filesystem::exists(dir + "/tensorboard"));
}

TEST(MetricsLoggerTest, DefaultTimeIsNow) {
  const std::string dir = FreshDir("time");
  auto logger = MetricsLogger::Open({dir, false, std::nullopt});
  ASSERT_TRUE(logger.ok());
  const double before = static_cast<double>(std::time(nullptr));
  ASSERT_TRUE((*logger)->Log(3, {{"loss", 1}}).ok());
  const double t = nlohmann::json::parse(Lines(dir + "/metrics.jsonl")[0]).at("time").get<double>();
  EXPECT_GE(t, before - 1);
  EXPECT_LE(t, before + 60);
}

TEST(MetricsLoggerTest, ResumeDropsLinesAfterTheResumeStep) {
  const std::string dir = FreshDir("resume");
  {
    auto logger = MetricsLogger::Open({dir, false, std::nullopt});
    ASSERT_TRUE(logger.ok());
    for (int step = 1; step <= 10; ++step) ASSERT_TRUE((*logger)->Log(step, {{"loss", 1.0 / step}}).ok());
  }
  {  // a crash tore the last line
    std::ofstream out(dir + "/metrics.jsonl", std::ios::app);
    out << "{\"step\":11,\"ti";
  }
  // Resuming from the checkpoint of step 6: steps 7..10 and the torn line go, 1..6 stay untouched.
  const std::vector<std::string> before = Lines(dir + "/metrics.jsonl");
  auto logger = MetricsLogger::Open({dir, false, int64_t{6}});
  ASSERT_TRUE(logger.ok()) << logger.status();
  const std::vector<std::string> after = Lines(dir + "/metrics.jsonl");
  ASSERT_EQ(after.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(after[i], before[i]);
  for (int step = 7; step <= 9; ++step) ASSERT_TRUE((*logger)->Log(step, {{"loss", 0.0}}).ok());
  EXPECT_THAT(Steps(dir + "/metrics.jsonl"), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9));
  EXPECT_FALSE(std::filesystem::exists(dir + "/metrics.jsonl.tmp"));
}

TEST(MetricsLoggerTest, ResumeAtZeroEmptiesAndMissingFileIsFine) {
  const std::string dir = FreshDir("zero");
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/metrics.jsonl");
    out << "{\"step\":1}\n{\"step\":\"2\"}\nnot json\n[1]\n{\"step\":0,\"x\":1}\n";
  }
  auto kept = TruncateMetricsFile(dir + "/metrics.jsonl", 0);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(*kept, 1);
  EXPECT_THAT(Lines(dir + "/metrics.jsonl"), ElementsAre("{\"step\":0,\"x\":1}"));
  auto missing = TruncateMetricsFile(dir + "/none.jsonl", 5);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/none.jsonl"));
}

TEST(MetricsLoggerTest, ErrorsNameThePath) {
  auto logger = MetricsLogger::Open({"/dev/null/run", false, std::nullopt});
  ASSERT_FALSE(logger.ok());
  EXPECT_THAT(logger.status().message(), HasSubstr("/dev/null/run"));
}

TEST(MetricsLoggerTest, MirrorsToTensorBoardWhenEnabled) {
  const std::string dir = FreshDir("tb");
  auto logger = MetricsLogger::Open({dir, true, std::nullopt});
  ASSERT_TRUE(logger.ok()) << logger.status();
  const std::string path = (*logger)->tensorboard_path();
  EXPECT_THAT(path, HasSubstr(dir + "/tensorboard/events.out.tfevents."));
  const auto size_before = std::filesystem::file_size(path);
  ASSERT_TRUE((*logger)->Log(1, {{"loss", 0.25}}).ok());
  EXPECT_GT(std::filesystem::file_size(path), size_before);  // flushed with the line
}

}  // namespace
}  // namespace brain::train
