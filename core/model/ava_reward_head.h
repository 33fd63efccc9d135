// AvaRewardHead: AVA's per-token Gaussian reward head (spec §4.2): linear d -> 2 giving (μ, log σ).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/model/layers.h"

namespace brain::model {

inline constexpr double kAvaLogSigmaMin = -5.0;
inline constexpr double kAvaLogSigmaMax = 5.0;

struct AvaRewardOutput {
  torch::Tensor mu;         // [..., T]
  torch::Tensor log_sigma;  // [..., T], clamped to [-5, 5]
};

// Zero-initialised, so it starts at the prior N(0, 1). Parameters: proj.weight [2, d], proj.bias [2].
class AvaRewardHeadImpl : public torch::nn::Module {
 public:
  explicit AvaRewardHeadImpl(int64_t hidden_size);
  AvaRewardOutput forward(const torch::Tensor& hidden);
  Dense proj{nullptr};
};
TORCH_MODULE(AvaRewardHead);

}  // namespace brain::model
