// Run directory preparation.
#include "core/train/run_directory.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/config/config_resolve.h"

namespace brain::train {
namespace {

bool HasCheckpoints(const std::filesystem::path& dir) {
  std::error_code error;
  const auto checkpoints = dir / "checkpoints";
  if (!std::filesystem::is_directory(checkpoints, error)) return false;
  return !std::filesystem::is_empty(checkpoints, error);
}

}  // namespace

absl::Status PrepareRunDirectory(const config::ExperimentConfig& config) {
  namespace fs = std::filesystem;
  const fs::path dir = config.output_dir();
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat(dir.string(), ": cannot create the run directory: ", error.message()));
  const std::string resolved = config::ResolvedConfigText(config);
  const fs::path config_path = dir / "config.textproto";
  if (HasCheckpoints(dir)) {
    if (!config.checkpoint().resume()) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir.string(), ": holds checkpoints but checkpoint.resume is false; choose another output_dir "
                        "(nothing was changed)"));
    }
    std::ifstream in(config_path);
    std::stringstream existing;
    existing << in.rdbuf();
    if (in && existing.str() != resolved) {
      return absl::FailedPreconditionError(absl::StrCat(
          config_path.string(), ": the run directory holds checkpoints of a different config; resume with "
                                "the same config or choose another output_dir (nothing was changed)"));
    }
  }
  const fs::path tmp = dir / "config.textproto.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << resolved;
    if (!out) return absl::InternalError(absl::StrCat(tmp.string(), ": cannot write"));
  }
  fs::rename(tmp, config_path, error);
  if (error) return absl::InternalError(absl::StrCat(config_path.string(), ": cannot write: ", error.message()));
  return absl::OkStatus();
}

}  // namespace brain::train
