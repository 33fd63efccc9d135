// AvaRewardHead: zero-initialised d -> 2 projection split into μ and clamped log σ.
#include "core/model/ava_reward_head.h"

#include <torch/torch.h>

namespace brain::model {

AvaRewardHeadImpl::AvaRewardHeadImpl(int64_t hidden_size) {
  proj = register_module("proj", Dense(hidden_size, 2, /*bias=*/true));
  torch::NoGradGuard no_grad;
  proj->weight.zero_();
  proj->bias.zero_();
}

AvaRewardOutput AvaRewardHeadImpl::forward(const torch::Tensor& hidden) {
  const auto out = proj->forward(hidden);
  return {out.select(-1, 0), out.select(-1, 1).clamp(kAvaLogSigmaMin, kAvaLogSigmaMax)};
}

}  // namespace brain::model
