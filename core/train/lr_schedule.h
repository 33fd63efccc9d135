// LearningRate: the optimiser's learning rate at a step (linear warmup, then constant/linear/cosine decay).
#pragma once

#include <cstdint>

#include "proto/config.pb.h"

namespace brain::train {

// Learning rate for the update with 0-based index `step` (the number of updates already made), with
// lr = config.learning_rate(), W = warmup_steps, T = total_steps, r = min_lr_ratio:
//   step < W:      lr · (step + 1) / W                        (linear warmup, reaching lr at step W − 1)
//   CONSTANT:      lr
//   LINEAR:        lr · (r + (1 − r)(1 − p))                   p = clamp((step − W) / (T − W), 0, 1)
//   COSINE:        lr · (r + (1 − r) · ½(1 + cos(π p)))        (SCHEDULE_UNSPECIFIED means COSINE)
// so the decay reaches r·lr at step T and stays there past the end (T <= W: r·lr right after warmup).
// T <= 0 (unknown length) means no decay after warmup.
double LearningRate(int64_t step, const config::OptimizerConfig& config, int64_t total_steps);

// The same with T = config.max_steps().
double LearningRate(int64_t step, const config::OptimizerConfig& config);

}  // namespace brain::train
