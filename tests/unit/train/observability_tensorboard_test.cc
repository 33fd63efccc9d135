// TensorBoard event files written by TensorBoardWriter, read back by tensorboard's own EventAccumulator
// (the venv's `tensorboard` package, run through tests/unit/train/read_tensorboard.py), which also
// re-checks every record's masked CRC-32C with tensorboard's reference implementation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/train/metrics_logger.h"
#include "core/train/tensorboard_writer.h"

namespace brain::train {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/observability_tb_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

// What read_tensorboard.py reports for `dir`.
nlohmann::json ReadWithTensorBoard(const std::string& dir) {
  const std::string command =
      std::string(BRAIN_PYTHON) + " " + BRAIN_READ_TENSORBOARD_PY + " '" + dir + "' 2>/dev/null";
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return {};
  }
  std::string output;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  const int status = pclose(pipe);
  if (status != 0) {
    ADD_FAILURE() << command << " failed (status " << status << "); is tensorboard in the venv "
                  << "(scripts/requirements.txt)?";
    return {};
  }
  return nlohmann::json::parse(output);
}

// (step, value) pairs of one tag.
std::vector<std::pair<int64_t, double>> Series(const nlohmann::json& report, const std::string& tag) {
  std::vector<std::pair<int64_t, double>> series;
  for (const auto& e : report.at("scalars").at(tag))
    series.emplace_back(e[0].get<int64_t>(), e[1].get<double>());
  return series;
}

TEST(TensorBoardWriterTest, EventAccumulatorReadsTheScalarsBack) {
  const std::string dir = FreshDir("roundtrip");
  std::map<std::string, std::vector<std::pair<int64_t, double>>> expected;
  {
    auto writer = TensorBoardWriter::Open(dir);
    ASSERT_TRUE(writer.ok()) << writer.status();
    EXPECT_THAT((*writer)->path(), StartsWith(dir + "/events.out.tfevents."));
    ASSERT_TRUE((*writer)->AddScalar("loss", 1, 0.5, 1700000000.25).ok());
    expected["loss"].emplace_back(1, 0.5);
    for (int step = 2; step <= 60; ++step) {
      const double loss = std::exp(-0.05 * step), reward = std::sin(0.3 * step) * 1e3;
      ASSERT_TRUE((*writer)->AddScalars(step, {{"loss", loss}, {"reward/mean", reward}}).ok());
      expected["loss"].emplace_back(step, static_cast<float>(loss));
      expected["reward/mean"].emplace_back(step, static_cast<float>(reward));
    }
    ASSERT_TRUE((*writer)->AddScalar("lr", 1000000000000LL, -3e-4).ok());  // a step past 32 bits
    expected["lr"].emplace_back(1000000000000LL, static_cast<float>(-3e-4));
    ASSERT_TRUE((*writer)->Close().ok());
  }
  const nlohmann::json report = ReadWithTensorBoard(dir);
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report.at("files").size(), 1u);
  EXPECT_EQ(report.at("file_versions"), nlohmann::json::array({"brain.Event:2"}));
  EXPECT_EQ(report.at("accumulator_file_version"), 2.0);
  EXPECT_TRUE(report.at("problems").empty()) << report.at("problems");
  EXPECT_EQ(report.at("records"), 1 + 1 + 59 + 1);  // file version, then one record per Add call
  ASSERT_EQ(report.at("scalars").size(), expected.size()) << report.at("scalars");
  for (const auto& [tag, series] : expected) EXPECT_EQ(Series(report, tag), series) << tag;
  EXPECT_DOUBLE_EQ(report.at("scalars").at("loss")[0][2].get<double>(), 1700000000.25);  // wall time
}

TEST(TensorBoardWriterTest, FlushMakesRecordsVisibleAndDestructionFlushes) {
  const std::string dir = FreshDir("flush");
  auto writer = TensorBoardWriter::Open(dir);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->AddScalar("a", 7, 1.25).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  nlohmann::json report = ReadWithTensorBoard(dir);  // the writer is still open
  EXPECT_EQ(Series(report, "a"), (std::vector<std::pair<int64_t, double>>{{7, 1.25}}));
  ASSERT_TRUE((*writer)->AddScalar("a", 8, 2.5).ok());
  writer->reset();  // no Flush/Close: the destructor flushes
  report = ReadWithTensorBoard(dir);
  EXPECT_EQ(Series(report, "a"), (std::vector<std::pair<int64_t, double>>{{7, 1.25}, {8, 2.5}}));
  EXPECT_TRUE(report.at("problems").empty());
}

TEST(TensorBoardWriterTest, SecondWriterInTheSameSecondGetsItsOwnFile) {
  const std::string dir = FreshDir("two");
  auto first = TensorBoardWriter::Open(dir);
  auto second = TensorBoardWriter::Open(dir);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE((*first)->path(), (*second)->path());
}

TEST(TensorBoardWriterTest, ErrorsNameThePath) {
  auto writer = TensorBoardWriter::Open("/dev/null/tb");
  ASSERT_FALSE(writer.ok());
  EXPECT_THAT(writer.status().message(), HasSubstr("/dev/null/tb"));
}

TEST(TensorBoardWriterTest, MetricsLoggerMirrorsEveryMetric) {
  const std::string dir = FreshDir("logger");
  {
    auto logger = MetricsLogger::Open({dir, /*tensorboard=*/true, std::nullopt});
    ASSERT_TRUE(logger.ok()) << logger.status();
    ASSERT_TRUE((*logger)->Log(10, {{"loss", 0.75}, {"ess", 3.5}}).ok());
    ASSERT_TRUE((*logger)->Log(20, {{"loss", 0.5}}).ok());
  }
  const nlohmann::json report = ReadWithTensorBoard(dir + "/tensorboard");
  EXPECT_EQ(Series(report, "loss"), (std::vector<std::pair<int64_t, double>>{{10, 0.75}, {20, 0.5}}));
  EXPECT_EQ(Series(report, "ess"), (std::vector<std::pair<int64_t, double>>{{10, 3.5}}));
}

TEST(TensorBoardWriterTest, ResumedRunReplacesTheStepsPastTheRestart) {
  // A run logged steps 1..10, crashed, and resumed from step 6: the resumed MetricsLogger opens a new
  // event file and logs 7..9 again; TensorBoard shows 1..9 with the new values (its orphaned-data purge).
  const std::string dir = FreshDir("resume");
  {
    auto logger = MetricsLogger::Open({dir, true, std::nullopt});
    ASSERT_TRUE(logger.ok()) << logger.status();
    for (int step = 1; step <= 10; ++step) ASSERT_TRUE((*logger)->Log(step, {{"loss", step}}).ok());
  }
  {
    auto logger = MetricsLogger::Open({dir, true, int64_t{6}});
    ASSERT_TRUE(logger.ok()) << logger.status();
    for (int step = 7; step <= 9; ++step) ASSERT_TRUE((*logger)->Log(step, {{"loss", 100 + step}}).ok());
  }
  const nlohmann::json report = ReadWithTensorBoard(dir + "/tensorboard");
  EXPECT_EQ(report.at("files").size(), 2u);
  EXPECT_EQ(Series(report, "loss"),
            (std::vector<std::pair<int64_t, double>>{
                {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {6, 6}, {7, 107}, {8, 108}, {9, 109}}));
}

}  // namespace
}  // namespace brain::train
