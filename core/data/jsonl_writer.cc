// JsonlWriter: buffered JSONL output with I/O errors as Status.
#include "core/data/jsonl_writer.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace brain::data {
namespace {

absl::Status OsError(const std::string& path, absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(path, ": ", what, " (", std::strerror(err), ")"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<JsonlWriter>> JsonlWriter::Open(const std::string& path, bool append) {
  std::FILE* file = std::fopen(path.c_str(), append ? "ab" : "wb");
  if (file == nullptr) return OsError(path, "cannot open for writing", errno);
  return std::unique_ptr<JsonlWriter>(new JsonlWriter(path, file));
}

JsonlWriter::~JsonlWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status JsonlWriter::Write(const nlohmann::json& value) {
  return WriteLine(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

absl::Status JsonlWriter::Write(const nlohmann::ordered_json& value) {
  return WriteLine(value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

absl::Status JsonlWriter::WriteLine(const std::string& line) {
  if (file_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(path_, ": writer is closed"));
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fputc('\n', file_) == EOF) {
    return OsError(path_, "write failed", errno);
  }
  ++lines_;
  return absl::OkStatus();
}

absl::Status JsonlWriter::Flush() {
  if (file_ == nullptr) return absl::OkStatus();
  if (std::fflush(file_) != 0) return OsError(path_, "flush failed", errno);
  return absl::OkStatus();
}

absl::Status JsonlWriter::Close() {
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

}  // namespace brain::data
