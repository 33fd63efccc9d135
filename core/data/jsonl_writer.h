// JsonlWriter: writes JSON values one per line to a file (datasets, generated samples).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace brain::data {

class JsonlWriter {
 public:
  // Creates (truncates) `path`, or appends to it when `append`. Errors name the path and the OS reason.
  static absl::StatusOr<std::unique_ptr<JsonlWriter>> Open(const std::string& path, bool append = false);
  ~JsonlWriter();  // closes the file (errors are lost then: call Close() to see them)
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  // Writes `value` compactly (UTF-8, no newline inside) followed by "\n". Invalid UTF-8 in strings is
  // written as U+FFFD rather than failing.
  absl::Status Write(const nlohmann::json& value);
  absl::Status Write(const nlohmann::ordered_json& value);
  absl::Status Flush();
  absl::Status Close();

  const std::string& path() const { return path_; }
  int64_t lines() const { return lines_; }

 private:
  JsonlWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  absl::Status WriteLine(const std::string& line);

  std::string path_;
  std::FILE* file_;
  int64_t lines_ = 0;
};

}  // namespace brain::data
