// Progress, timers and metrics of a training run.
#include "core/train/trainer_observer.h"

#include <torch/torch.h>

#include <cstdio>

#include "core/train/metrics_logger.h"

namespace brain::train {

TrainerObserver::TrainerObserver(const config::ExperimentConfig& config, distributed::Communicator& comm,
                                 std::string run_dir, std::string label, int64_t total_steps, int64_t start_step,
                                 const model::CausalLm& model)
    : config_(config),
      main_(comm.rank() == 0),
      run_dir_(std::move(run_dir)),
      label_(std::move(label)),
      total_steps_(total_steps),
      start_step_(start_step) {
  ModelFlopsShape shape;
  for (const auto& p : model.parameters()) shape.params += static_cast<double>(p.numel());
  shape.layers = static_cast<double>(model.config().num_layers);
  shape.hidden = static_cast<double>(model.config().hidden_size);
  shape.context = static_cast<double>(config.models().max_seq_len()) / 2;
  flops_per_token_ = TrainingFlopsPerToken(shape);
  // Every rank's cores count: the peak is per rank times the ranks.
  peak_flops_ = AssumedCpuPeakFlops(torch::get_num_threads()) * comm.size();
  ProgressOptions options;
  options.label = label_;
  options.total_steps = total_steps;
  options.start_step = start_step;
  options.enabled = main_ && config.logging().progress();
  options.metric_keys = {"loss", "reward_mean", "accuracy", "round_reward_mean", "grad_norm"};
  progress_ = std::make_unique<ProgressReporter>(options);
}

TrainerObserver::~TrainerObserver() = default;

absl::Status TrainerObserver::Open() {
  if (!main_) return absl::OkStatus();
  MetricsLoggerOptions options;
  options.run_dir = run_dir_;
  options.tensorboard = config_.logging().tensorboard();
  options.resume_step = start_step_;
  auto logger = MetricsLogger::Open(options);
  if (!logger.ok()) return logger.status();
  logger_ = std::move(*logger);
  return absl::OkStatus();
}

void TrainerObserver::RoundBegun(int64_t, const std::map<std::string, double>& metrics) {
  pending_round_metrics_ = metrics;
}

absl::Status TrainerObserver::StepDone(int64_t step, std::map<std::string, double> metrics) {
  timers_.EndStep();
  for (const auto& [name, value] : pending_round_metrics_) metrics[name] = value;
  const double seconds = metrics.count("step_seconds") ? metrics["step_seconds"] : 0;
  const double tokens_per_second = seconds > 0 ? metrics["tokens"] / seconds : -1;
  const double mfu = tokens_per_second > 0 ? Mfu(flops_per_token_, tokens_per_second, peak_flops_) : -1;
  metrics["tokens_per_second"] = tokens_per_second;
  metrics["mfu"] = mfu;
  for (const auto& [phase, s] : timers_.LastStep()) metrics["time_" + phase] = s;
  const int every = std::max(1, config_.logging().every_steps());
  const bool log_now = step % every == 0 || step == total_steps_ || step == start_step_ + 1;
  if (!main_) return absl::OkStatus();
  if (log_now) {
    progress_->Update(step, metrics, tokens_per_second, mfu, timers_.Totals());
    pending_round_metrics_.clear();
    if (logger_) return logger_->Log(step, metrics);
  }
  return absl::OkStatus();
}

void TrainerObserver::Note(const std::string& line) {
  if (!main_) return;
  progress_->Finish();
  std::fprintf(stderr, "[%s] %s\n", label_.c_str(), line.c_str());
}

absl::Status TrainerObserver::Close() {
  if (!main_) return absl::OkStatus();
  progress_->Finish();
  if (logger_) return logger_->Close();
  return absl::OkStatus();
}

}  // namespace brain::train
