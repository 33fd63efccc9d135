// TensorBoardWriter: writes scalar summaries to a TensorBoard event file (TFRecord-framed Event protos).
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace brain::train {

class TensorBoardWriter {
 public:
  // Creates `dir` when needed and a new file DIR/events.out.tfevents.<unix seconds>.<hostname> (".N" is
  // appended when that name exists) whose first record is the file version "brain.Event:2".
  static absl::StatusOr<std::unique_ptr<TensorBoardWriter>> Open(const std::string& dir);
  ~TensorBoardWriter();  // flushes and closes (errors are lost then: call Close() to see them)
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One scalar at `step`; the wall time defaults to now (seconds since the Unix epoch).
  absl::Status AddScalar(absl::string_view tag, int64_t step, double value,
                         std::optional<double> wall_time = std::nullopt);
  // Several scalars at one step, in one event record.
  absl::Status AddScalars(int64_t step, const std::map<std::string, double>& values,
                          std::optional<double> wall_time = std::nullopt);
  // Marks a restart at `step` (a SessionLog START event): TensorBoard then discards the events with
  // step >= `step` it read before this record (from this or earlier files of the directory), so a resumed
  // run's re-logged steps replace those an interrupted run wrote after its checkpoint.
  absl::Status AddSessionStart(int64_t step, std::optional<double> wall_time = std::nullopt);
  // Pushes buffered records to the file (fflush; no fsync).
  absl::Status Flush();
  absl::Status Close();

  const std::string& path() const { return path_; }

 private:
  TensorBoardWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  // Frames `event` (a serialised Event) as a TFRecord: uint64 length, masked CRC-32C of the length,
  // the bytes, masked CRC-32C of the bytes (integers little-endian).
  absl::Status WriteRecord(const std::string& event);

  std::string path_;
  std::FILE* file_;
};

// Seconds since the Unix epoch, with sub-second precision.
double UnixSeconds();

}  // namespace brain::train
