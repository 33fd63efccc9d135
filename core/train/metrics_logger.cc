// metrics.jsonl writing, its truncation on resume, and the TensorBoard mirror.
#include "core/train/metrics_logger.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace brain::train {
namespace {

absl::Status OsError(const std::string& path, absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(path, ": ", what, " (", std::strerror(err), ")"));
}

// The line's step when it is a JSON object with an integer "step".
std::optional<int64_t> LineStep(const std::string& line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto it = j.find("step");
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

}  // namespace

absl::StatusOr<int64_t> TruncateMetricsFile(const std::string& path, int64_t max_step) {
  std::error_code exists_ec;
  if (!std::filesystem::exists(path, exists_ec) && !exists_ec) return 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return OsError(path, "cannot open", errno);
  std::string kept;
  int64_t count = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::optional<int64_t> step = LineStep(line);
    if (!step.has_value() || *step > max_step) continue;
    kept += line;
    kept += '\n';
    ++count;
  }
  if (in.bad()) return OsError(path, "read error", errno);
  in.close();

  const std::string tmp = path + ".tmp";
  std::FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) return OsError(tmp, "cannot open for writing", errno);
  const bool written = std::fwrite(kept.data(), 1, kept.size(), out) == kept.size();
  const int write_err = errno;
  const bool closed = std::fclose(out) == 0;
  if (!written || !closed) {
    std::remove(tmp.c_str());
    return OsError(tmp, "write failed", written ? errno : write_err);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat(path, ": cannot replace (", ec.message(), ")"));
  return count;
}

absl::StatusOr<std::unique_ptr<MetricsLogger>> MetricsLogger::Open(const MetricsLoggerOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.run_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat(options.run_dir, ": cannot create directory (", ec.message(), ")"));
  }
  const std::string path = options.run_dir + "/metrics.jsonl";
  if (options.resume_step.has_value()) {
    absl::StatusOr<int64_t> kept = TruncateMetricsFile(path, *options.resume_step);
    if (!kept.ok()) return kept.status();
  }
  std::unique_ptr<TensorBoardWriter> tensorboard;
  if (options.tensorboard) {
    absl::StatusOr<std::unique_ptr<TensorBoardWriter>> writer =
        TensorBoardWriter::Open(options.run_dir + "/tensorboard");
    if (!writer.ok()) return writer.status();
    tensorboard = *std::move(writer);
    if (options.resume_step.has_value()) {
      if (absl::Status s = tensorboard->AddSessionStart(*options.resume_step + 1); !s.ok()) return s;
      if (absl::Status s = tensorboard->Flush(); !s.ok()) return s;
    }
  }
  std::FILE* file = std::fopen(path.c_str(), "ab");
  if (file == nullptr) return OsError(path, "cannot open for appending", errno);
  return std::unique_ptr<MetricsLogger>(new MetricsLogger(path, file, std::move(tensorboard)));
}

MetricsLogger::~MetricsLogger() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status MetricsLogger::Log(int64_t step, const std::map<std::string, double>& metrics,
                                std::optional<double> time) {
  if (file_ == nullptr)
    return absl::FailedPreconditionError(absl::StrCat(metrics_path_, ": logger is closed"));
  const double wall_time = time.has_value() ? *time : UnixSeconds();
  nlohmann::ordered_json line;
  line["step"] = step;
  line["time"] = wall_time;
  for (const auto& [name, value] : metrics) {
    if (name == "step" || name == "time") continue;  // reserved keys
    if (std::isfinite(value)) {
      line[name] = value;
    } else {
      line[name] = nullptr;
    }
  }
  const std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
    return OsError(metrics_path_, "write failed", errno);
  }
  if (tensorboard_ != nullptr && !metrics.empty()) {
    if (absl::Status s = tensorboard_->AddScalars(step, metrics, wall_time); !s.ok()) return s;
    if (absl::Status s = tensorboard_->Flush(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status MetricsLogger::Flush() {
  if (file_ != nullptr && std::fflush(file_) != 0) return OsError(metrics_path_, "flush failed", errno);
  if (tensorboard_ != nullptr) return tensorboard_->Flush();
  return absl::OkStatus();
}

absl::Status MetricsLogger::Close() {
  absl::Status status;
  if (file_ != nullptr) {
    if (std::fclose(file_) != 0) status = OsError(metrics_path_, "close failed", errno);
    file_ = nullptr;
  }
  if (tensorboard_ != nullptr) status.Update(tensorboard_->Close());
  return status;
}

}  // namespace brain::train
