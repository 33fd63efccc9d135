// Tests PruneSampleCache: which run_dir/samples entries go, which stay, concurrent callers, errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/train/sample_cache.h"

namespace brain::train {
namespace {

namespace fs = std::filesystem;

class PruneSampleCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_dir_ = fs::temp_directory_path() /
               ("prune_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(run_dir_);
    fs::create_directories(run_dir_ / "samples");
  }
  void TearDown() override { fs::remove_all(run_dir_); }

  void Touch(const fs::path& p) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
  }
  // Names directly under samples/.
  std::set<std::string> Entries() {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(run_dir_ / "samples")) names.insert(e.path().filename().string());
    return names;
  }
  fs::path Samples() { return run_dir_ / "samples"; }

  fs::path run_dir_;
};

TEST_F(PruneSampleCacheTest, RemovesOnlyOlderRoundDirectoriesWithTheExactName) {
  for (int r = 0; r < 6; ++r) {
    // Independent of SampleCachePath: the layout spelled out by hand.
    char name[32];
    std::snprintf(name, sizeof(name), "round_%06d", r);
    Touch(Samples() / name / "rank_00000_of_00002.safetensors");
    Touch(Samples() / name / "rank_00001_of_00002.safetensors");
  }
  Touch(Samples() / "round_000001" / "nested" / "deep.bin");  // a subdirectory goes with its round
  Touch(Samples() / "round_00001" / "a");                     // 5 digits: not the pattern
  Touch(Samples() / "round_000001.tmp" / "a");                // suffix
  Touch(Samples() / "round_00000x" / "a");                    // not digits
  Touch(Samples() / "Round_000001" / "a");                    // case
  Touch(Samples() / "xround_000001" / "a");                   // prefix
  Touch(Samples() / "round_000002.safetensors");              // a file, not a directory
  Touch(Samples() / "notes.txt");
  Touch(run_dir_ / "round_000000" / "a");                     // outside samples/

  ASSERT_TRUE(PruneSampleCache(run_dir_.string(), 3).ok());

  const std::set<std::string> expected = {"round_000003", "round_000004", "round_000005", "round_00001",
                                          "round_000001.tmp", "round_00000x", "Round_000001", "xround_000001",
                                          "round_000002.safetensors", "notes.txt"};
  EXPECT_EQ(Entries(), expected);
  for (int r = 3; r < 6; ++r) {
    char name[32];
    std::snprintf(name, sizeof(name), "round_%06d", r);
    EXPECT_TRUE(fs::exists(Samples() / name / "rank_00000_of_00002.safetensors")) << name;
    EXPECT_TRUE(fs::exists(Samples() / name / "rank_00001_of_00002.safetensors")) << name;
  }
  EXPECT_TRUE(fs::exists(run_dir_ / "round_000000" / "a"));

  // Idempotent; keep_from_round 0 removes nothing; a later bound removes the rest of the rounds.
  ASSERT_TRUE(PruneSampleCache(run_dir_.string(), 3).ok());
  ASSERT_TRUE(PruneSampleCache(run_dir_.string(), 0).ok());
  EXPECT_EQ(Entries(), expected);
  ASSERT_TRUE(PruneSampleCache(run_dir_.string(), 1000).ok());
  EXPECT_EQ(Entries().count("round_000005"), 0u);
  EXPECT_EQ(Entries().count("round_00001"), 1u);
}

TEST_F(PruneSampleCacheTest, RoundsPastSixDigitsCompareByValue) {
  Touch(Samples() / "round_999999" / "a");
  Touch(Samples() / "round_1000000" / "a");
  Touch(Samples() / "round_1000001" / "a");
  ASSERT_TRUE(PruneSampleCache(run_dir_.string(), 1000001).ok());
  EXPECT_EQ(Entries(), (std::set<std::string>{"round_1000001"}));
}

TEST_F(PruneSampleCacheTest, MissingSamplesDirectoryIsFine) {
  fs::remove_all(Samples());
  EXPECT_TRUE(PruneSampleCache(run_dir_.string(), 5).ok());
  EXPECT_TRUE(PruneSampleCache((run_dir_ / "no_such_run").string(), 5).ok());
}

TEST_F(PruneSampleCacheTest, TwoConcurrentCallersBothSucceed) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    for (int r = 0; r < 12; ++r) {
      char name[32];
      std::snprintf(name, sizeof(name), "round_%06d", r);
      for (int f = 0; f < 8; ++f) Touch(Samples() / name / ("rank_" + std::to_string(f)));
    }
    absl::Status a, b;
    std::thread ta([&] { a = PruneSampleCache(run_dir_.string(), 10); });
    std::thread tb([&] { b = PruneSampleCache(run_dir_.string(), 10); });
    ta.join();
    tb.join();
    ASSERT_TRUE(a.ok()) << a;
    ASSERT_TRUE(b.ok()) << b;
    ASSERT_EQ(Entries(), (std::set<std::string>{"round_000010", "round_000011"})) << "attempt " << attempt;
    fs::remove_all(Samples());
    fs::create_directories(Samples());
  }
}

TEST_F(PruneSampleCacheTest, ErrorNamesThePath) {
  fs::remove_all(Samples());
  Touch(Samples());  // samples is a regular file: it cannot be listed
  const absl::Status status = PruneSampleCache(run_dir_.string(), 5);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find((run_dir_ / "samples").string()), std::string::npos) << status;
}

}  // namespace
}  // namespace brain::train
