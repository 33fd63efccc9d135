// CheckpointManager in one process: bitwise round trip, layout, keep-last-K, and every kind of damaged
// or interrupted checkpoint skipped (with a warning naming it) in favour of the previous one.
#include "core/train/checkpoint_manager.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/train/checkpoint_files.h"
#include "core/train/sha256.h"

namespace brain::train {
namespace {
namespace fs = std::filesystem;

class CheckpointManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_dir_ = fs::temp_directory_path() /
               ("brain_ckpt_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(run_dir_);
    fs::create_directories(run_dir_ / "logs");
    std::ofstream(run_dir_ / "metrics.jsonl") << "{\"step\": 1}\n";
    std::ofstream(run_dir_ / "logs" / "rank0.log") << "hello\n";
  }
  void TearDown() override { fs::remove_all(run_dir_); }

  static model::TensorMap Model(double shift) {
    torch::manual_seed(1);
    return {{"w", torch::randn({4, 3}) + shift},
            {"b", torch::randn({3}, torch::kDouble)},
            {"h", torch::randn({5}).to(torch::kBFloat16)},
            {"ids", torch::arange(6, torch::kLong)}};
  }
  static checkpoint::TrainerState State(int64_t step) {
    checkpoint::TrainerState s;
    s.set_step(step);
    s.set_round(2);
    s.set_data_cursor(1234);
    s.set_sample_cache_name("round_2.bin");
    s.set_torch_cpu_rng_state(std::string("\0\1\2\3", 4));
    (*s.mutable_seeds())["data"] = 99;
    (*s.mutable_counters())["tokens"] = 1.0 / 3.0;
    s.set_config_hash("abc");
    s.set_world_size(1);
    return s;
  }
  // Every file outside run_dir/checkpoints with its content.
  std::map<std::string, std::string> Outside() const {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(run_dir_)) {
      const std::string rel = fs::relative(e.path(), run_dir_).string();
      if (rel.rfind("checkpoints", 0) == 0) continue;
      std::ostringstream content;
      if (e.is_regular_file()) content << std::ifstream(e.path(), std::ios::binary).rdbuf();
      files[rel] = content.str();
    }
    return files;
  }
  fs::path Dir(int64_t step) const { return run_dir_ / "checkpoints" / StepDirName(step); }
  std::string FindWithWarnings(CheckpointManager& m, std::string* warnings) {
    ::testing::internal::CaptureStderr();
    auto found = m.FindNewestComplete();
    *warnings = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() && found->has_value() ? **found : "";
  }

  fs::path run_dir_;
};

TEST_F(CheckpointManagerTest, RoundTripIsBitwiseWithTheDocumentedLayout) {
  CheckpointManager manager(run_dir_.string(), nullptr, 3);
  const auto before = Outside();
  const model::TensorMap model = Model(0.5);
  const model::TensorMap rank = {{"exp_avg", torch::randn({7}, torch::kDouble)}, {"step", torch::tensor({3L})}};
  auto dir = manager.Save(3, model, rank, State(3));
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*dir, Dir(3).string());
  for (const char* f : {"model.safetensors", "optimizer_rank_00000.safetensors", "trainer_state.pb", "manifest.pb",
                        "DONE"}) {
    EXPECT_TRUE(fs::is_regular_file(Dir(3) / f)) << f;
  }
  int entries = 0;
  for (const auto& e : fs::directory_iterator(run_dir_ / "checkpoints")) ++entries, (void)e;
  EXPECT_EQ(entries, 1);  // no temporary directory left behind
  // DONE holds the SHA-256 of the manifest; the manifest the size of each file.
  std::ostringstream manifest_bytes;
  manifest_bytes << std::ifstream(Dir(3) / "manifest.pb", std::ios::binary).rdbuf();
  std::ostringstream done;
  done << std::ifstream(Dir(3) / "DONE").rdbuf();
  EXPECT_EQ(done.str(), Sha256Hex(manifest_bytes.str()) + "\n");
  checkpoint::Manifest manifest;
  ASSERT_TRUE(manifest.ParseFromString(manifest_bytes.str()));
  EXPECT_EQ(manifest.files_size(), 3);
  for (const auto& f : manifest.files()) EXPECT_EQ(f.size(), static_cast<int64_t>(fs::file_size(Dir(3) / f.path())));
  EXPECT_EQ(manifest.world_size(), 1);

  std::string warnings;
  EXPECT_EQ(FindWithWarnings(manager, &warnings), Dir(3).string());
  EXPECT_EQ(warnings, "");
  auto loaded = manager.Load(Dir(3).string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->step, 3);
  ASSERT_EQ(loaded->model_tensors.size(), model.size());
  for (const auto& [name, t] : model) {
    EXPECT_EQ(loaded->model_tensors.at(name).scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(loaded->model_tensors.at(name).equal(t)) << name;
  }
  for (const auto& [name, t] : rank) EXPECT_TRUE(loaded->rank_tensors.at(name).equal(t)) << name;
  EXPECT_EQ(loaded->state.SerializeAsString(), State(3).SerializeAsString());
  EXPECT_EQ(Outside(), before);
}

TEST_F(CheckpointManagerTest, KeepsTheLastKCompleteOnes) {
  CheckpointManager manager(run_dir_.string(), nullptr, 2);
  fs::create_directories(Dir(1));  // an incomplete older one: never counted, left alone
  for (int64_t step : {2, 4, 6, 8}) ASSERT_TRUE(manager.Save(step, Model(step), {}, State(step)).ok());
  EXPECT_FALSE(fs::exists(Dir(2)));
  EXPECT_FALSE(fs::exists(Dir(4)));
  EXPECT_TRUE(fs::exists(Dir(6) / "DONE"));
  EXPECT_TRUE(fs::exists(Dir(8) / "DONE"));
  EXPECT_TRUE(fs::exists(Dir(1)));
  // Saving an older step than the newest (after resuming from it) never deletes the one just written.
  CheckpointManager keep_one(run_dir_.string(), nullptr, 1);
  ASSERT_TRUE(keep_one.Save(7, Model(7), {}, State(7)).ok());
  EXPECT_TRUE(fs::exists(Dir(7) / "DONE"));
  EXPECT_FALSE(fs::exists(Dir(6)));
  EXPECT_FALSE(fs::exists(Dir(8)));
  // Saving the same step again replaces it.
  ASSERT_TRUE(keep_one.Save(7, Model(70), {}, State(7)).ok());
  auto loaded = keep_one.Load(Dir(7).string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->model_tensors.at("w").equal(Model(70).at("w")));
}

TEST_F(CheckpointManagerTest, SkipsDamagedOrInterruptedCheckpointsWithAWarning) {
  CheckpointManager manager(run_dir_.string(), nullptr, 0);
  const model::TensorMap rank = {{"m", torch::randn({64}, torch::kDouble)}};
  for (int64_t step : {10, 20, 30, 40}) ASSERT_TRUE(manager.Save(step, Model(step), rank, State(step)).ok());
  const auto before = Outside();
  std::string warnings;

  // 40: the DONE marker is missing (a crash before the end).
  fs::remove(Dir(40) / "DONE");
  EXPECT_EQ(FindWithWarnings(manager, &warnings), Dir(30).string());
  EXPECT_NE(warnings.find(Dir(40).string()), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("no DONE"), std::string::npos) << warnings;
  EXPECT_FALSE(manager.Load(Dir(40).string()).ok());

  // 30: one byte of the optimiser shard flipped.
  {
    std::fstream f(Dir(30) / "optimizer_rank_00000.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-5, std::ios::end);
    const char byte = static_cast<char>(f.get());
    f.seekp(-5, std::ios::end);
    f.put(static_cast<char>(byte ^ 0x5a));
  }
  EXPECT_EQ(FindWithWarnings(manager, &warnings), Dir(20).string());
  EXPECT_NE(warnings.find(Dir(30).string()), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("SHA-256 mismatch"), std::string::npos) << warnings;
  auto corrupted = manager.Load(Dir(30).string());
  ASSERT_FALSE(corrupted.ok());
  EXPECT_NE(corrupted.status().message().find("optimizer_rank_00000"), std::string::npos) << corrupted.status();

  // 20: trainer_state.pb truncated.
  fs::resize_file(Dir(20) / "trainer_state.pb", 5);
  EXPECT_EQ(FindWithWarnings(manager, &warnings), Dir(10).string());
  EXPECT_NE(warnings.find("trainer_state.pb"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("truncated"), std::string::npos) << warnings;

  // A crashed save (a complete-looking temporary directory) and a stray name are ignored.
  fs::copy(Dir(10), run_dir_ / "checkpoints" / ".tmp_step_00000050", fs::copy_options::recursive);
  fs::create_directories(run_dir_ / "checkpoints" / "step_latest");
  EXPECT_EQ(FindWithWarnings(manager, &warnings), Dir(10).string());
  auto loaded = manager.Load(Dir(10).string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->rank_tensors.at("m").equal(rank.at("m")));
  EXPECT_EQ(loaded->state.step(), 10);

  // 10: manifest edited (DONE no longer matches): nothing left.
  {
    std::ofstream(Dir(10) / "manifest.pb", std::ios::app) << "x";
  }
  EXPECT_EQ(FindWithWarnings(manager, &warnings), "");
  EXPECT_NE(warnings.find("manifest.pb"), std::string::npos) << warnings;
  EXPECT_EQ(Outside(), before);

  // The next save clears the abandoned temporary directory of an earlier step.
  ASSERT_TRUE(manager.Save(60, Model(60), rank, State(60)).ok());
  EXPECT_FALSE(fs::exists(run_dir_ / "checkpoints" / ".tmp_step_00000050"));
  EXPECT_EQ(FindWithWarnings(manager, &warnings), Dir(60).string());
}

TEST_F(CheckpointManagerTest, LoadRejectsADifferentWorldSize) {
  CheckpointManager manager(run_dir_.string(), nullptr, 3);
  ASSERT_TRUE(manager.Save(5, Model(0), {}, State(5)).ok());
  // Re-publish the manifest as if 4 ranks had written it.
  std::ostringstream bytes;
  bytes << std::ifstream(Dir(5) / "manifest.pb", std::ios::binary).rdbuf();
  checkpoint::Manifest manifest;
  ASSERT_TRUE(manifest.ParseFromString(bytes.str()));
  manifest.set_world_size(4);
  std::ofstream(Dir(5) / "manifest.pb", std::ios::binary | std::ios::trunc) << manifest.SerializeAsString();
  std::ofstream(Dir(5) / "DONE", std::ios::trunc) << Sha256Hex(manifest.SerializeAsString()) << "\n";
  auto loaded = manager.Load(Dir(5).string());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("written by 4 rank(s) but this run has 1"), std::string::npos)
      << loaded.status();
}

}  // namespace
}  // namespace brain::train
