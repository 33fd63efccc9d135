// Warmup + decay schedules.
#include "core/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace brain::train {

double LearningRate(int64_t step, const config::OptimizerConfig& config, int64_t total_steps) {
  const double lr = config.learning_rate();
  const int64_t warmup = std::max<int64_t>(0, config.warmup_steps());
  if (step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (config.schedule() == config::OptimizerConfig::CONSTANT || total_steps <= 0) return lr;
  const double r = config.min_lr_ratio();
  const double p = total_steps <= warmup ? 1.0
                                         : std::clamp(static_cast<double>(step - warmup) /
                                                          static_cast<double>(total_steps - warmup),
                                                      0.0, 1.0);
  if (config.schedule() == config::OptimizerConfig::LINEAR) return lr * (r + (1.0 - r) * (1.0 - p));
  return lr * (r + (1.0 - r) * 0.5 * (1.0 + std::cos(M_PI * p)));
}

double LearningRate(int64_t step, const config::OptimizerConfig& config) {
  return LearningRate(step, config, config.max_steps());
}

}  // namespace brain::train
