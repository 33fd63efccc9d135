// MetricsLogger: appends one JSON object per logged step to RUN_DIR/metrics.jsonl and mirrors the scalars
// to TensorBoard event files in RUN_DIR/tensorboard; drops lines past the resume step of a resumed run.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/train/tensorboard_writer.h"

namespace brain::train {

struct MetricsLoggerOptions {
  std::string run_dir;      // created when missing
  bool tensorboard = true;  // also write RUN_DIR/tensorboard/events.out.tfevents.*
  // A resumed run continuing after step k sets k here: lines of metrics.jsonl with "step" > k (logged by
  // the interrupted run after its checkpoint) are removed first, so no step appears twice, and the new
  // TensorBoard file starts with a restart marker at step k + 1 (TensorBoard then hides the old file's
  // steps > k). Unset: the file is appended to as it is.
  std::optional<int64_t> resume_step;
};

// Only one process (rank 0) should own a run directory's logger.
class MetricsLogger {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsLogger>> Open(const MetricsLoggerOptions& options);
  ~MetricsLogger();
  MetricsLogger(const MetricsLogger&) = delete;
  MetricsLogger& operator=(const MetricsLogger&) = delete;

  // Appends {"step": step, "time": unix seconds, name: value, ...} (names in sorted order; non-finite
  // values become null) and flushes the line to the OS; mirrors each value as a TensorBoard scalar
  // tagged by its name. `time` defaults to now.
  absl::Status Log(int64_t step, const std::map<std::string, double>& metrics,
                   std::optional<double> time = std::nullopt);
  absl::Status Flush();
  absl::Status Close();

  const std::string& metrics_path() const { return metrics_path_; }
  // The event file, or "" when TensorBoard output is off.
  std::string tensorboard_path() const { return tensorboard_ ? tensorboard_->path() : ""; }

 private:
  MetricsLogger(std::string metrics_path, std::FILE* file, std::unique_ptr<TensorBoardWriter> tensorboard)
      : metrics_path_(std::move(metrics_path)), file_(file), tensorboard_(std::move(tensorboard)) {}

  std::string metrics_path_;
  std::FILE* file_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

// Rewrites the JSONL file at `path` keeping, in order, the lines that are JSON objects with an integer
// "step" <= max_step (other lines, e.g. one torn by a crash, are dropped). The new contents are written
// to PATH.tmp and renamed over PATH, so a crash leaves either file intact. Returns the lines kept;
// a missing file is not an error (0 kept).
absl::StatusOr<int64_t> TruncateMetricsFile(const std::string& path, int64_t max_step);

}  // namespace brain::train
