// Phase timers, progress-line formatting (bar, percentages, ETA, phase shares), TTY and plain output, MFU.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/train/progress.h"

namespace brain::train {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// A clock the test moves by hand.
struct FakeClock {
  double now = 100;
  Clock AsClock() {
    return [this] { return now; };
  }
};

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s.push_back(static_cast<char>(c));
  return s;
}

TEST(PhaseTimersTest, ScopesAddToTheCurrentStepAndTotals) {
  FakeClock clock;
  PhaseTimers timers(clock.AsClock());
  {
    auto t = timers.Time("sample");
    clock.now += 2;
  }
  {
    auto t = timers.Time("train");
    clock.now += 3;
    EXPECT_DOUBLE_EQ(t.Stop(), 3);
    clock.now += 100;  // after Stop: not counted
    EXPECT_DOUBLE_EQ(t.Stop(), 0);
  }
  timers.Add("train", 0.5);
  EXPECT_THAT(timers.CurrentStep(), ElementsAre(Pair("sample", 2), Pair("train", 3.5)));
  timers.EndStep();
  EXPECT_TRUE(timers.CurrentStep().empty());
  EXPECT_THAT(timers.LastStep(), ElementsAre(Pair("sample", 2), Pair("train", 3.5)));
  {
    auto t = timers.Time("train");
    auto moved = std::move(t);  // the moved-from scope adds nothing
    clock.now += 1;
  }
  timers.EndStep();
  EXPECT_THAT(timers.LastStep(), ElementsAre(Pair("train", 1)));
  EXPECT_THAT(timers.Totals(), ElementsAre(Pair("sample", 2), Pair("train", 4.5)));
  EXPECT_EQ(timers.steps(), 2);
}

TEST(PhaseTimersTest, RealClockMeasuresSleeps) {
  PhaseTimers timers;
  {
    auto t = timers.Time("sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  EXPECT_GE(timers.CurrentStep().at("sync"), 0.029);
  EXPECT_LT(timers.CurrentStep().at("sync"), 2.0);
}

TEST(PhaseTimersTest, StandardPhasesFirstInTheirOrder) {
  const auto ordered = PhaseTimers::Ordered(
      {{"eval", 1}, {"train", 2}, {"checkpoint", 3}, {"sample", 4}, {"sync", 5}, {"score", 6}});
  std::vector<std::string> names;
  for (const auto& p : ordered) names.push_back(p.first);
  EXPECT_THAT(names, ElementsAre("sample", "score", "train", "sync", "checkpoint", "eval"));
}

TEST(ProgressFormatTest, Durations) {
  EXPECT_EQ(FormatDuration(0), "00:00");
  EXPECT_EQ(FormatDuration(83), "01:23");
  EXPECT_EQ(FormatDuration(59.6), "01:00");
  EXPECT_EQ(FormatDuration(3599), "59:59");
  EXPECT_EQ(FormatDuration(3723), "1:02:03");
  EXPECT_EQ(FormatDuration(36000 * 3 + 5), "30:00:05");
  EXPECT_EQ(FormatDuration(-1), "--:--");
  EXPECT_EQ(FormatDuration(NAN), "--:--");
}

TEST(ProgressFormatTest, Counts) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(950), "950");
  EXPECT_EQ(FormatCount(1234), "1.2k");
  EXPECT_EQ(FormatCount(999.7), "1.0k");
  EXPECT_EQ(FormatCount(12345), "12k");
  EXPECT_EQ(FormatCount(2.5e6), "2.5M");
  EXPECT_EQ(FormatCount(345e6), "345M");
  EXPECT_EQ(FormatCount(7.1e9), "7.1G");
}

TEST(ProgressFormatTest, FullLine) {
  ProgressSnapshot s;
  s.step = 12;
  s.total_steps = 100;
  s.steps_this_run = 12;
  s.elapsed_seconds = 12;  // 1 s/step, 88 steps left
  s.metrics = {{"loss", 0.5312}};
  s.tokens_per_second = 1234;
  s.mfu = 0.003;
  s.phase_seconds = {{"sample", 4}, {"score", 1}, {"train", 4.5}, {"sync", 0.5}};
  EXPECT_EQ(FormatProgressLine("align", s, 10),
            "[align] step 12/100 ▕█░░░░░░░░░▏ 12% | loss 0.531 | 1.2k tok/s | MFU 0.3% | ETA 01:28 | "
            "sample 40% score 10% train 45% sync 5%");
}

TEST(ProgressFormatTest, ResumedRunEtaUsesThisRunsRate) {
  ProgressSnapshot s;
  s.step = 60;
  s.total_steps = 100;
  s.steps_this_run = 10;   // resumed at step 50
  s.elapsed_seconds = 20;  // 2 s/step, 40 left
  EXPECT_EQ(FormatProgressLine("sft", s, 4), "[sft] step 60/100 ▕██░░▏ 60% | ETA 01:20");
  s.step = 100;
  s.steps_this_run = 50;
  EXPECT_EQ(FormatProgressLine("sft", s, 4), "[sft] step 100/100 ▕████▏ 100% | ETA 00:00");
  s.step = 0;
  s.steps_this_run = 0;
  EXPECT_EQ(FormatProgressLine("sft", s, 4), "[sft] step 0/100 ▕░░░░▏ 0% | ETA --:--");
}

TEST(ProgressReporterTest, PlainLinesWhenNotATty) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  FakeClock clock;
  ProgressOptions options;
  options.label = "dpo";
  options.total_steps = 10;
  options.out = out;
  options.tty = 0;
  options.bar_width = 5;
  options.metric_keys = {"loss", "accuracy"};
  options.clock = clock.AsClock();
  ProgressReporter reporter(options);
  clock.now += 30;  // 3 steps in 30 s → 10 s/step
  reporter.Update(3, {{"accuracy", 0.75}, {"loss", 0.25}, {"other", 9}}, -1, -1, {{"train", 3}, {"sync", 1}});
  clock.now += 10;
  reporter.Update(4, {{"loss", 0.125}}, 2.5e6, -1, {});
  reporter.Finish();
  EXPECT_EQ(ReadAll(out),
            "[dpo] step 3/10 ▕█░░░░▏ 30% | loss 0.25 | accuracy 0.75 | ETA 01:10 | train 75% sync 25%\n"
            "[dpo] step 4/10 ▕██░░░▏ 40% | loss 0.125 | 2.5M tok/s | ETA 01:00\n");
  std::fclose(out);
}

TEST(ProgressReporterTest, TtyRedrawsOneLineAndDisabledPrintsNothing) {
  std::FILE* out = std::tmpfile();
  FakeClock clock;
  ProgressOptions options;
  options.label = "rm";
  options.total_steps = 2;
  options.out = out;
  options.tty = 1;
  options.bar_width = 2;
  options.clock = clock.AsClock();
  {
    ProgressReporter reporter(options);
    clock.now += 1;
    reporter.Update(1, {}, -1, -1, {});
    clock.now += 1;
    reporter.Update(2, {}, -1, -1, {});
    reporter.Finish();
  }
  options.enabled = false;
  ProgressReporter silent(options);
  EXPECT_EQ(silent.Update(1, {{"loss", 1}}, 1, 1, {}), "");
  silent.Finish();
  EXPECT_EQ(ReadAll(out),
            "\r[rm] step 1/2 ▕█░▏ 50% | ETA 00:01\033[K\r[rm] step 2/2 ▕██▏ 100% | ETA 00:00\033[K\n");
  std::fclose(out);
}

TEST(MfuTest, FlopsPerTokenAndUtilisation) {
  // GPT-2 small: 124M params, 12 layers, width 768, 1024 positions.
  const ModelFlopsShape gpt2{124e6, 12, 768, 1024};
  EXPECT_DOUBLE_EQ(InferenceFlopsPerToken(gpt2), 2 * 124e6 + 4.0 * 12 * 768 * 1024);  // 285,748,736
  EXPECT_DOUBLE_EQ(TrainingFlopsPerToken(gpt2), 857246208.0);  // 6·124e6 + 12·12·768·1024
  EXPECT_NEAR(Mfu(857246208.0, 1000, 96e9), 8.929648, 1e-9);   // 857.2 GFLOP/s of 96
  EXPECT_NEAR(Mfu(857246208.0, 1, 96e9), 0.008929648, 1e-12);
  EXPECT_EQ(Mfu(1, 1, 0), 0);
  EXPECT_DOUBLE_EQ(AssumedCpuPeakFlops(2), 192e9);
  EXPECT_DOUBLE_EQ(AssumedCpuPeakFlops(0), 96e9);
}

}  // namespace
}  // namespace brain::train
