// TensorBoard event files: file-version record, scalar summaries, TFRecord framing with masked CRC-32C.
#include "core/train/tensorboard_writer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/train/crc32c.h"
#include "proto/tensorboard_event.pb.h"

namespace brain::train {
namespace {

absl::Status OsError(const std::string& path, absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(path, ": ", what, " (", std::strerror(err), ")"));
}

std::string HostName() {
  char name[256] = {0};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

void PutLittleEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

}  // namespace

double UnixSeconds() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(now).count();
}

absl::StatusOr<std::unique_ptr<TensorBoardWriter>> TensorBoardWriter::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot create directory (", ec.message(), ")"));
  const double now = UnixSeconds();
  const std::string base =
      absl::StrCat(dir, "/events.out.tfevents.", static_cast<int64_t>(now), ".", HostName());
  std::string path = base;
  for (int n = 1; std::filesystem::exists(path); ++n) path = absl::StrCat(base, ".", n);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return OsError(path, "cannot open for writing", errno);
  std::unique_ptr<TensorBoardWriter> writer(new TensorBoardWriter(path, file));

  tensorboard::Event event;
  event.set_wall_time(now);
  event.set_step(0);
  event.set_file_version("brain.Event:2");
  if (absl::Status s = writer->WriteRecord(event.SerializeAsString()); !s.ok()) return s;
  if (absl::Status s = writer->Flush(); !s.ok()) return s;
  return writer;
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status TensorBoardWriter::AddScalar(absl::string_view tag, int64_t step, double value,
                                          std::optional<double> wall_time) {
  return AddScalars(step, {{std::string(tag), value}}, wall_time);
}

absl::Status TensorBoardWriter::AddScalars(int64_t step, const std::map<std::string, double>& values,
                                           std::optional<double> wall_time) {
  tensorboard::Event event;
  event.set_wall_time(wall_time.has_value() ? *wall_time : UnixSeconds());
  event.set_step(step);
  tensorboard::Summary* summary = event.mutable_summary();
  for (const auto& [tag, value] : values) {
    tensorboard::Summary::Value* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  return WriteRecord(event.SerializeAsString());
}

absl::Status TensorBoardWriter::AddSessionStart(int64_t step, std::optional<double> wall_time) {
  tensorboard::Event event;
  event.set_wall_time(wall_time.has_value() ? *wall_time : UnixSeconds());
  event.set_step(step);
  event.mutable_session_log()->set_status(tensorboard::SessionLog::START);
  return WriteRecord(event.SerializeAsString());
}

absl::Status TensorBoardWriter::WriteRecord(const std::string& event) {
  if (file_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(path_, ": writer is closed"));
  std::string record;
  record.reserve(event.size() + 16);
  PutLittleEndian(event.size(), 8, &record);
  PutLittleEndian(MaskCrc32c(Crc32c(record.data(), 8)), 4, &record);
  record += event;
  PutLittleEndian(MaskCrc32c(Crc32c(event)), 4, &record);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) {
    return OsError(path_, "write failed", errno);
  }
  return absl::OkStatus();
}

absl::Status TensorBoardWriter::Flush() {
  if (file_ == nullptr) return absl::OkStatus();
  if (std::fflush(file_) != 0) return OsError(path_, "flush failed", errno);
  return absl::OkStatus();
}

absl::Status TensorBoardWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  const bool flushed = std::fflush(file_) == 0;
  const int flush_err = errno;
  const bool closed = std::fclose(file_) == 0;
  const int close_err = errno;
  file_ = nullptr;
  if (!flushed) return OsError(path_, "flush failed", flush_err);
  if (!closed) return OsError(path_, "close failed", close_err);
  return absl::OkStatus();
}

}  // namespace brain::train
