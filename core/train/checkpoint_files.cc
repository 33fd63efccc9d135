// Durable file writes and manifest building/verification for checkpoint directories.
#include "core/train/checkpoint_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/train/sha256.h"

namespace brain::train {
namespace fs = std::filesystem;

std::string StepDirName(int64_t step) { return absl::StrFormat("step_%08d", step); }

std::optional<int64_t> ParseStepDirName(std::string_view name) {
  constexpr std::string_view kPrefix = "step_";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view digits = name.substr(kPrefix.size());
  if (digits.size() < 8 || !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit)) return std::nullopt;
  int64_t step = 0;
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &step)) return std::nullopt;
  return step;
}

std::string RankFileName(int rank) { return absl::StrFormat("optimizer_rank_%05d.safetensors", rank); }

absl::Status FsyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat(path, ": cannot open for fsync: ", std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return absl::DataLossError(absl::StrCat(path, ": fsync failed: ", std::strerror(err)));
  return absl::OkStatus();
}

absl::Status WriteFileDurably(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat(tmp, ": cannot create: ", std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::DataLossError(absl::StrCat(tmp, ": write failed: ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int err = errno;
  if (::close(fd) != 0 || !synced) {
    ::unlink(tmp.c_str());
    return absl::DataLossError(absl::StrCat(tmp, ": fsync/close failed: ", std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::DataLossError(absl::StrCat(path, ": cannot rename from ", tmp, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read failed"));
  return out.str();
}

absl::StatusOr<checkpoint::Manifest> BuildManifest(const std::string& dir, int64_t step, int world_size) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    const std::string relative = fs::relative(it->path(), dir, file_ec).generic_string();
    if (file_ec) return absl::InternalError(absl::StrCat(it->path().string(), ": ", file_ec.message()));
    if (relative == kManifestFile || relative == kDoneFile) continue;
    files.push_back(relative);
  }
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot list: ", ec.message()));
  std::sort(files.begin(), files.end());
  checkpoint::Manifest manifest;
  manifest.set_step(step);
  manifest.set_world_size(world_size);
  manifest.set_format_version(1);
  manifest.set_creation_time_unix_s(static_cast<int64_t>(::time(nullptr)));
  for (const std::string& relative : files) {
    const std::string path = (fs::path(dir) / relative).string();
    auto digest = Sha256File(path);
    if (!digest.ok()) return digest.status();
    checkpoint::ManifestFile* file = manifest.add_files();
    file->set_path(relative);
    file->set_size(static_cast<int64_t>(fs::file_size(path, ec)));
    if (ec) return absl::InternalError(absl::StrCat(path, ": cannot stat: ", ec.message()));
    file->set_sha256(*digest);
  }
  return manifest;
}

absl::StatusOr<checkpoint::Manifest> VerifyCheckpoint(const std::string& dir, int64_t step) {
  const std::string done_path = (fs::path(dir) / kDoneFile).string();
  std::error_code ec;
  if (!fs::exists(done_path, ec)) return absl::NotFoundError("no DONE marker (incomplete: interrupted while saving?)");
  auto done = ReadFile(done_path);
  if (!done.ok()) return done.status();
  const std::string manifest_path = (fs::path(dir) / kManifestFile).string();
  auto manifest_bytes = ReadFile(manifest_path);
  if (!manifest_bytes.ok()) return manifest_bytes.status();
  if (absl::StripAsciiWhitespace(*done) != Sha256Hex(*manifest_bytes)) {
    return absl::DataLossError(absl::StrCat(manifest_path, ": SHA-256 differs from the one recorded in DONE"));
  }
  checkpoint::Manifest manifest;
  if (!manifest.ParseFromString(*manifest_bytes)) {
    return absl::DataLossError(absl::StrCat(manifest_path, ": not a valid Manifest"));
  }
  if (manifest.step() != step) {
    return absl::DataLossError(absl::StrCat(manifest_path, ": records step ", manifest.step(), ", not ", step));
  }
  bool has_state = false;
  for (const checkpoint::ManifestFile& file : manifest.files()) {
    const std::string path = (fs::path(dir) / file.path()).string();
    const auto size = fs::file_size(path, ec);
    if (ec) return absl::NotFoundError(absl::StrCat(path, ": missing (", ec.message(), ")"));
    if (static_cast<int64_t>(size) != file.size()) {
      return absl::DataLossError(
          absl::StrCat(path, ": size ", size, " bytes, the manifest says ", file.size(), " (truncated?)"));
    }
    auto digest = Sha256File(path);
    if (!digest.ok()) return digest.status();
    if (*digest != file.sha256()) {
      return absl::DataLossError(absl::StrCat(path, ": SHA-256 mismatch (corrupted)"));
    }
    has_state |= file.path() == kTrainerStateFile;
  }
  if (!has_state) return absl::DataLossError(absl::StrCat(dir, ": the manifest lists no ", kTrainerStateFile));
  auto state_bytes = ReadFile((fs::path(dir) / kTrainerStateFile).string());
  if (!state_bytes.ok()) return state_bytes.status();
  checkpoint::TrainerState state;
  if (!state.ParseFromString(*state_bytes)) {
    return absl::DataLossError(absl::StrCat(dir, "/", kTrainerStateFile, ": not a valid TrainerState"));
  }
  return manifest;
}

}  // namespace brain::train
