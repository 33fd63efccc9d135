// Stop masking, temperature, top-k, top-p, and inverse-CDF draws.
#include "core/sampling/token_distribution.h"

#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <cmath>
#include <limits>

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
  // Vectorised passes over one [B, V] buffer: mask, temper, log-sum-exp, probabilities in place; then a
  // scalar walk per row up to the drawn token (inversion in vocabulary order, as DrawTokens).
  auto x = logits.to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true).contiguous();
  if (ban_stop.defined() && !stop_ids.empty() && ban_stop.any().item<bool>()) {
    auto banned = torch::zeros({vocab}, torch::kBool);
    banned.index_fill_(0, torch::tensor(stop_ids, torch::kLong), true);
    x.masked_fill_(ban_stop.to(torch::kBool).unsqueeze(1) & banned.unsqueeze(0),
                   -std::numeric_limits<float>::infinity());
  }
  if (options.temperature != 1) x.div_(options.temperature);
  const auto lse = x.logsumexp(1);                          // [B]
  const auto tempered = x.clone();
  x.sub_(lse.unsqueeze(1)).exp_();                          // probabilities
  const auto total = x.sum(1, /*keepdim=*/false, torch::kFloat64).contiguous();
  const auto u = uniforms.to(torch::kCPU).to(torch::kFloat64).contiguous();
  auto tokens = torch::empty({batch}, torch::kLong);
  const float* p = x.data_ptr<float>();
  const double* total_p = total.data_ptr<double>();
  const double* u_p = u.data_ptr<double>();
  int64_t* tok_p = tokens.data_ptr<int64_t>();
  at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const float* row = p + b * vocab;
      const double target = u_p[b] * total_p[b];
      double c = 0;
      int64_t pick = -1;
      for (int64_t i = 0; i < vocab; ++i) {
        if (row[i] <= 0) continue;
        pick = i;  // the last token of the support unless the CDF passes target earlier
        c += row[i];
        if (c > target) break;
      }
      tok_p[b] = pick < 0 ? 0 : pick;
    }
  });
  auto logq = tempered.gather(1, tokens.unsqueeze(1)).squeeze(1) - lse;
  return {tokens, logq};
}

}  // namespace brain::sampling
