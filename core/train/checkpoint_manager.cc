// Collective checkpoint save/prune/find/load over a shared file system.
#include "core/train/checkpoint_manager.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/train/checkpoint_files.h"
#include "core/train/sha256.h"

namespace brain::train {
namespace fs = std::filesystem;
namespace {

// Complete-looking (DONE present) step directories of `checkpoints_dir`, by step.
std::map<int64_t, fs::path> StepDirs(const std::string& checkpoints_dir, bool with_done_only) {
  std::map<int64_t, fs::path> dirs;
  std::error_code ec;
  for (fs::directory_iterator it(checkpoints_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto step = ParseStepDirName(it->path().filename().string());
    std::error_code dir_ec;
    if (!step.has_value() || !it->is_directory(dir_ec)) continue;
    if (with_done_only && !fs::exists(it->path() / kDoneFile, ec)) continue;
    dirs[*step] = it->path();
  }
  return dirs;
}

// TEST-ONLY fault injection for tests/reliability; inert unless the environment variable is set.
//   BRAIN_TEST_CKPT_STALL_STEP=N   rank 0 stops after the shards of checkpoint N are written, before the
//                                  manifest and DONE: it creates checkpoints/.stalled_step_N and sleeps,
//                                  so a test can kill the job in the middle of the save.
//   BRAIN_TEST_CKPT_ENOSPC_STEP=N  writing the optimiser shard of checkpoint N fails on the rank in
//   BRAIN_TEST_CKPT_ENOSPC_RANK    (default 0) as on a full disk: the file is cut short, the error is ENOSPC.
std::optional<int64_t> TestHookStep(const char* variable) {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::strtoll(value, nullptr, 10);
}

void TestHookStall(const std::string& checkpoints_dir, int64_t step) {
  if (TestHookStep("BRAIN_TEST_CKPT_STALL_STEP") != step) return;
  std::cerr << "checkpoint: test hook: stalling before publishing step " << step << "\n" << std::flush;
  std::ofstream((fs::path(checkpoints_dir) / (".stalled_" + StepDirName(step))).string()) << ::getpid() << "\n";
  ::sleep(600);
}

absl::Status TestHookEnospc(const std::string& file, int64_t step, int rank) {
  if (TestHookStep("BRAIN_TEST_CKPT_ENOSPC_STEP") != step) return absl::OkStatus();
  if (TestHookStep("BRAIN_TEST_CKPT_ENOSPC_RANK").value_or(0) != rank) return absl::OkStatus();
  std::error_code ec;
  fs::resize_file(file, fs::file_size(file, ec) / 2, ec);
  return absl::ResourceExhaustedError(
      absl::StrCat(file, ": write failed: ", std::strerror(ENOSPC), " (injected by BRAIN_TEST_CKPT_ENOSPC_STEP)"));
}

absl::Status RemoveAll(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return absl::InternalError(absl::StrCat(path.string(), ": cannot remove: ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

CheckpointManager::CheckpointManager(std::string run_dir, distributed::Communicator* comm, int keep_last,
                                     torch::Device device)
    : checkpoints_dir_((fs::path(run_dir) / kCheckpointsSubdir).string()),
      comm_(comm),
      keep_last_(keep_last),
      device_(device) {}

absl::Status CheckpointManager::Agree(absl::Status local, const char* what) {
  if (comm_ == nullptr || comm_->size() == 1) return local;
  torch::Tensor failed = torch::full({1}, local.ok() ? 0.0 : 1.0, torch::dtype(torch::kDouble).device(device_));
  comm_->AllReduce(failed, distributed::ReduceOp::kMax);
  if (!local.ok()) return local;
  if (failed.cpu().item<double>() > 0) return absl::AbortedError(absl::StrCat(what, ": failed on another rank"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> CheckpointManager::Save(int64_t step, const model::TensorMap& model_tensors,
                                                    const model::TensorMap& rank_tensors,
                                                    const checkpoint::TrainerState& state) {
  const fs::path tmp = fs::path(checkpoints_dir_) / (kTempPrefix + StepDirName(step));
  const fs::path final_dir = fs::path(checkpoints_dir_) / StepDirName(step);
  absl::Status status;
  if (rank() == 0) {
    std::error_code ec;
    status = RemoveAll(tmp);
    if (status.ok()) {
      fs::create_directories(tmp, ec);
      if (ec) status = absl::InternalError(absl::StrCat(tmp.string(), ": cannot create: ", ec.message()));
    }
  }
  if (status = Agree(status, "checkpoint: creating the directory"); !status.ok()) return status;

  // Every rank: its optimiser shard. Rank 0: the model and the trainer state.
  const std::string rank_file = (tmp / RankFileName(rank())).string();
  status = model::SaveSafetensors(rank_file, rank_tensors);
  if (status.ok()) status = TestHookEnospc(rank_file, step, rank());
  if (status.ok()) status = FsyncPath(rank_file);
  if (status.ok() && rank() == 0) {
    const std::string model_file = (tmp / kModelFile).string();
    status = model::SaveSafetensors(model_file, model_tensors);
    if (status.ok()) status = FsyncPath(model_file);
    if (status.ok()) status = WriteFileDurably((tmp / kTrainerStateFile).string(), state.SerializeAsString());
  }
  if (status = Agree(status, "checkpoint: writing the shards"); !status.ok()) return status;

  if (rank() == 0) {
    TestHookStall(checkpoints_dir_, step);
    status = Publish(step, tmp.string(), final_dir.string());
    if (status.ok()) Prune(step);
  }
  if (status = Agree(status, "checkpoint: publishing"); !status.ok()) return status;
  return final_dir.string();
}

absl::Status CheckpointManager::Publish(int64_t step, const std::string& tmp, const std::string& final_dir) {
  auto manifest = BuildManifest(tmp, step, size());
  if (!manifest.ok()) return manifest.status();
  const std::string manifest_bytes = manifest->SerializeAsString();
  absl::Status status = WriteFileDurably((fs::path(tmp) / kManifestFile).string(), manifest_bytes);
  if (status.ok()) status = WriteFileDurably((fs::path(tmp) / kDoneFile).string(), Sha256Hex(manifest_bytes) + "\n");
  if (status.ok()) status = FsyncPath(tmp);
  if (!status.ok()) return status;
  // Replacing a checkpoint of the same step: move the old one aside first (it stays complete until the
  // new one is in place), then delete it.
  std::error_code ec;
  const fs::path old = fs::path(checkpoints_dir_) / (std::string(kTempPrefix) + "old_" + StepDirName(step));
  const bool replacing = fs::exists(final_dir, ec);
  if (replacing) {
    if (status = RemoveAll(old); !status.ok()) return status;
    fs::rename(final_dir, old, ec);
    if (ec) return absl::InternalError(absl::StrCat(final_dir, ": cannot move aside: ", ec.message()));
  }
  fs::rename(tmp, final_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(tmp, ": cannot rename to ", final_dir, ": ", ec.message()));
  if (status = FsyncPath(checkpoints_dir_); !status.ok()) return status;
  if (replacing) return RemoveAll(old);
  return absl::OkStatus();
}

void CheckpointManager::Prune(int64_t just_written) {
  std::error_code ec;
  // Abandoned temporary directories of earlier steps (a crash while saving): saves are sequential.
  for (fs::directory_iterator it(checkpoints_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0) continue;
    const auto step = ParseStepDirName(name.substr(std::string(kTempPrefix).size()));
    if (step.has_value() && *step < just_written) {
      if (absl::Status s = RemoveAll(it->path()); !s.ok()) std::cerr << "checkpoint: warning: " << s << "\n";
    }
  }
  if (keep_last_ <= 0) return;
  std::map<int64_t, fs::path> complete = StepDirs(checkpoints_dir_, /*with_done_only=*/true);
  int kept = 1;  // the one just written
  for (auto it = complete.rbegin(); it != complete.rend(); ++it) {
    if (it->first == just_written) continue;
    if (kept < keep_last_) {
      ++kept;
      continue;
    }
    // DONE goes first, so a crash halfway through the deletion leaves an incomplete-looking directory.
    fs::remove(it->second / kDoneFile, ec);
    if (absl::Status s = RemoveAll(it->second); !s.ok()) std::cerr << "checkpoint: warning: " << s << "\n";
  }
}

std::vector<int64_t> CheckpointManager::CompleteSteps() const {
  std::vector<int64_t> steps;
  for (const auto& [step, dir] : StepDirs(checkpoints_dir_, /*with_done_only=*/true)) steps.push_back(step);
  return steps;
}

absl::StatusOr<std::optional<std::string>> CheckpointManager::FindNewestComplete() {
  std::string found;
  if (rank() == 0) {
    const std::map<int64_t, fs::path> dirs = StepDirs(checkpoints_dir_, /*with_done_only=*/false);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      auto verified = VerifyCheckpoint(it->second.string(), it->first);
      if (verified.ok()) {
        found = it->second.string();
        break;
      }
      std::cerr << "checkpoint: warning: skipping " << it->second.string() << ": "
                << verified.status().message() << "\n";
    }
  }
  if (comm_ != nullptr && comm_->size() > 1) {
    // Broadcast the chosen step (-1: none); every rank rebuilds the same path.
    const auto step = ParseStepDirName(fs::path(found).filename().string());
    torch::Tensor chosen = torch::full({1}, found.empty() ? -1.0 : static_cast<double>(*step),
                                       torch::dtype(torch::kDouble).device(device_));
    comm_->Broadcast(chosen, 0);
    const auto value = static_cast<int64_t>(chosen.cpu().item<double>());
    found = value < 0 ? "" : (fs::path(checkpoints_dir_) / StepDirName(value)).string();
  }
  if (found.empty()) return std::optional<std::string>();
  return std::optional<std::string>(found);
}

absl::StatusOr<LoadedCheckpoint> CheckpointManager::Load(const std::string& dir, bool verify) {
  LoadedCheckpoint loaded;
  loaded.dir = dir;
  auto load = [&]() -> absl::Status {
    const auto step = ParseStepDirName(fs::path(dir).filename().string());
    if (!step.has_value()) return absl::InvalidArgumentError(absl::StrCat(dir, ": not a step_XXXXXXXX directory"));
    loaded.step = *step;
    auto done = ReadFile((fs::path(dir) / kDoneFile).string());
    if (!done.ok()) return absl::NotFoundError(absl::StrCat(dir, ": incomplete checkpoint (no DONE marker)"));
    const std::string manifest_path = (fs::path(dir) / kManifestFile).string();
    auto manifest_bytes = ReadFile(manifest_path);
    if (!manifest_bytes.ok()) return manifest_bytes.status();
    checkpoint::Manifest manifest;
    if (Sha256Hex(*manifest_bytes) != absl::StripAsciiWhitespace(*done) ||
        !manifest.ParseFromString(*manifest_bytes)) {
      return absl::DataLossError(absl::StrCat(manifest_path, ": corrupted (does not match DONE)"));
    }
    if (manifest.world_size() != size()) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, ": written by ", manifest.world_size(), " rank(s) but this run has ", size(),
          "; the optimiser state is sharded per rank, so resume with ", manifest.world_size(), " rank(s)"));
    }
    const std::string mine[] = {kModelFile, RankFileName(rank()), kTrainerStateFile};
    for (const std::string& name : mine) {
      auto entry = std::find_if(manifest.files().begin(), manifest.files().end(),
                                [&](const checkpoint::ManifestFile& f) { return f.path() == name; });
      if (entry == manifest.files().end()) {
        return absl::DataLossError(absl::StrCat(manifest_path, ": does not list ", name));
      }
      if (!verify) continue;
      auto digest = Sha256File((fs::path(dir) / name).string());
      if (!digest.ok()) return digest.status();
      if (*digest != entry->sha256()) {
        return absl::DataLossError(absl::StrCat(dir, "/", name, ": SHA-256 mismatch (corrupted)"));
      }
    }
    auto model_tensors = model::LoadSafetensors((fs::path(dir) / kModelFile).string());
    if (!model_tensors.ok()) return model_tensors.status();
    loaded.model_tensors = std::move(*model_tensors);
    auto rank_tensors = model::LoadSafetensors((fs::path(dir) / RankFileName(rank())).string());
    if (!rank_tensors.ok()) return rank_tensors.status();
    loaded.rank_tensors = std::move(*rank_tensors);
    auto state_bytes = ReadFile((fs::path(dir) / kTrainerStateFile).string());
    if (!state_bytes.ok()) return state_bytes.status();
    if (!loaded.state.ParseFromString(*state_bytes)) {
      return absl::DataLossError(absl::StrCat(dir, "/", kTrainerStateFile, ": not a valid TrainerState"));
    }
    return absl::OkStatus();
  };
  if (absl::Status status = Agree(load(), "checkpoint: loading"); !status.ok()) return status;
  return loaded;
}

}  // namespace brain::train
