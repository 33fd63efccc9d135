// Stop masking, temperature, top-k, top-p, and inverse-CDF draws.
#include "core/sampling/token_distribution.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/sampling/fused_draw_cpu.h"

namespace brain::sampling {

torch::Tensor SamplingLogProbs(const torch::Tensor& logits, const SamplingOptions& options,
                               const std::vector<int64_t>& stop_ids, const torch::Tensor& ban_stop) {
  TORCH_CHECK(logits.dim() == 2, "SamplingLogProbs: logits must be [B, V], got ", logits.sizes());
  const double neg_inf = -std::numeric_limits<double>::infinity();
  const int64_t vocab = logits.size(1);
  auto x = logits.to(torch::kFloat32);
  if (ban_stop.defined() && !stop_ids.empty() && ban_stop.any().item<bool>()) {
    auto banned = torch::zeros({vocab}, torch::TensorOptions().dtype(torch::kBool).device(x.device()));
    banned.index_fill_(0, torch::tensor(stop_ids, torch::TensorOptions().dtype(torch::kLong)).to(x.device()),
                       true);
    x = x.masked_fill(ban_stop.to(torch::kBool).unsqueeze(1) & banned.unsqueeze(0), neg_inf);
  }
  if (options.temperature == 0) {
    auto out = torch::full_like(x, neg_inf);
    out.scatter_(1, x.argmax(1, /*keepdim=*/true), 0.0);
    return out;
  }
  if (options.temperature != 1) x = x / options.temperature;
  if (options.top_k > 0 && options.top_k < vocab) {
    const auto kth = std::get<0>(x.topk(options.top_k, 1)).narrow(1, options.top_k - 1, 1);
    x = x.masked_fill(x < kth, neg_inf);
  }
  auto logp = torch::log_softmax(x, 1);
  if (options.top_p < 1) {
    const auto probs = logp.exp();
    const auto sorted = std::get<0>(probs.sort(1, /*descending=*/true));
    const auto before = sorted.cumsum(1) - sorted;  // mass of the more likely tokens
    const auto kept = before < options.top_p;       // the first is always kept
    const auto threshold = sorted.masked_fill(kept.logical_not(), 2.0).amin(1, /*keepdim=*/true);
    x = x.masked_fill(probs < threshold, neg_inf);
    logp = torch::log_softmax(x, 1);
  }
  return logp;
}

torch::Tensor DrawTokens(const torch::Tensor& logprobs, const torch::Tensor& uniforms) {
  const int64_t vocab = logprobs.size(1);
  const auto cum = logprobs.to(torch::kFloat64).exp().cumsum(1);
  const auto target = uniforms.to(torch::kFloat64).to(cum.device()) * cum.select(1, vocab - 1);
  auto idx = torch::searchsorted(cum, target.unsqueeze(1), /*out_int32=*/false, /*right=*/true).squeeze(1);
  idx = idx.clamp_max(vocab - 1);
  // Rounding can put target at the total: fall back to the last token of the support.
  const auto picked = logprobs.gather(1, idx.unsqueeze(1)).squeeze(1);
  const auto outside = torch::isinf(picked);
  if (outside.any().item<bool>()) {
    const auto support = torch::isfinite(logprobs).to(torch::kLong);
    const auto last = (vocab - 1) - support.flip({1}).argmax(1);
    idx = torch::where(outside, last, idx);
  }
  return idx;
}

DrawnTokens SampleTokens(const torch::Tensor& logits, const SamplingOptions& options,
                         const std::vector<int64_t>& stop_ids, const torch::Tensor& ban_stop,
                         const torch::Tensor& uniforms) {
  const int64_t batch = logits.size(0), vocab = logits.size(1);
  const bool fused = logits.device().is_cpu() && options.temperature > 0 &&
                     (options.top_k == 0 || options.top_k >= vocab) && options.top_p >= 1;
  if (!fused) {
    const auto logp = SamplingLogProbs(logits, options, stop_ids, ban_stop);
    auto tokens = DrawTokens(logp, uniforms);
    auto logq = logp.gather(1, tokens.unsqueeze(1)).squeeze(1);
    return {tokens, logq};
  }
  const auto x = logits.to(torch::kFloat32).contiguous();
  const auto ban = ban_stop.defined() ? ban_stop.to(torch::kCPU).to(torch::kBool).contiguous() : torch::Tensor();
  const auto u = uniforms.to(torch::kCPU).to(torch::kFloat64).contiguous();
  auto tokens = torch::empty({batch}, torch::kLong);
  auto logq = torch::empty({batch}, torch::kFloat32);
  internal::FusedDrawCpu(x.data_ptr<float>(), batch, vocab, options.temperature, stop_ids,
                         ban.defined() ? ban.data_ptr<bool>() : nullptr, u.data_ptr<double>(),
                         tokens.data_ptr<int64_t>(), logq.data_ptr<float>());
  return {tokens, logq};
}

}  // namespace brain::sampling
