// Packing, fused teacher-forced log-probs, batched sequence log-probs and reward scores.
#include "core/sampling/teacher_forcing.h"

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <algorithm>

#include "core/sampling/token_distribution.h"
#include "kernels/weighted_token_logprobs.h"

namespace brain::sampling {
namespace {

torch::Device ModelDevice(model::CausalLm& model) { return model.parameters().front().device(); }

template <typename Fn>
void ForBatches(size_t n, int64_t batch_size, Fn fn) {
  const size_t step = static_cast<size_t>(std::max<int64_t>(batch_size, 1));
  for (size_t begin = 0; begin < n; begin += step) fn(begin, std::min(n, begin + step));
}

}  // namespace

PackedSequences PackPromptResponses(const std::vector<TokenIds>& prompts, const std::vector<TokenIds>& responses,
                                    int64_t pad_id, torch::Device device) {
  TORCH_CHECK(prompts.size() == responses.size(), "PackPromptResponses: ", prompts.size(), " prompts but ",
              responses.size(), " responses");
  const int64_t batch = static_cast<int64_t>(prompts.size());
  int64_t length = 1;
  for (int64_t b = 0; b < batch; ++b) {
    TORCH_CHECK(!prompts[b].empty(), "PackPromptResponses: prompt ", b, " is empty");
    length = std::max<int64_t>(length, prompts[b].size() + responses[b].size());
  }
  auto ids = torch::full({batch, length}, pad_id, torch::kLong);
  auto mask = torch::zeros({batch, length}, torch::kLong);
  auto targets = torch::full({batch, length}, PackedSequences::kIgnoreIndex, torch::kLong);
  auto rmask = torch::zeros({batch, length}, torch::kFloat32);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<int64_t, 2>();
  auto tgt_a = targets.accessor<int64_t, 2>();
  auto rm_a = rmask.accessor<float, 2>();
  PackedSequences out;
  for (int64_t b = 0; b < batch; ++b) {
    const auto& p = prompts[b];
    const auto& r = responses[b];
    const int64_t lp = static_cast<int64_t>(p.size());
    const int64_t lr = static_cast<int64_t>(r.size());
    for (int64_t t = 0; t < lp; ++t) ids_a[b][t] = p[t];
    for (int64_t t = 0; t < lr; ++t) {
      ids_a[b][lp + t] = r[t];
      tgt_a[b][lp - 1 + t] = r[t];
      rm_a[b][lp - 1 + t] = 1.0f;
    }
    for (int64_t t = 0; t < lp + lr; ++t) mask_a[b][t] = 1;
    out.prompt_lengths.push_back(lp);
    out.response_lengths.push_back(lr);
  }
  out.input_ids = ids.to(device);
  out.attention_mask = mask.to(device);
  out.targets = targets.to(device);
  out.response_mask = rmask.to(device);
  return out;
}

torch::Tensor ResponseTokenLogprobs(model::CausalLm& model, const PackedSequences& packed) {
  const auto hidden = model.Forward(packed.input_ids, packed.attention_mask);  // [B, L, d]
  const int64_t batch = hidden.size(0), length = hidden.size(1);
  const auto weight = model.LmHeadWeight();
  const auto flat = hidden.reshape({batch * length, hidden.size(2)}).to(weight.scalar_type());
  auto result = kernels::WeightedTokenLogprobs(flat, weight, packed.targets.reshape({-1}),
                                               PackedSequences::kIgnoreIndex);
  return result.logprob.to(torch::kFloat32).view({batch, length});
}

std::vector<double> SequenceLogprobs(model::CausalLm& model, const std::vector<TokenIds>& prompts,
                                     const std::vector<TokenIds>& responses, int64_t batch_size) {
  c10::InferenceMode guard;
  const auto device = ModelDevice(model);
  std::vector<double> out(prompts.size());
  ForBatches(prompts.size(), batch_size, [&](size_t begin, size_t end) {
    const std::vector<TokenIds> p(prompts.begin() + begin, prompts.begin() + end);
    const std::vector<TokenIds> r(responses.begin() + begin, responses.begin() + end);
    const auto sums = ResponseTokenLogprobs(model, PackPromptResponses(p, r, 0, device))
                          .to(torch::kFloat64).sum(1).cpu();
    for (size_t i = begin; i < end; ++i) out[i] = sums[i - begin].item<double>();
  });
  return out;
}

std::vector<double> RewardScores(model::CausalLm& reward_model, const std::vector<TokenIds>& prompts,
                                 const std::vector<TokenIds>& responses, int64_t batch_size) {
  c10::InferenceMode guard;
  const auto device = ModelDevice(reward_model);
  std::vector<double> out(prompts.size());
  ForBatches(prompts.size(), batch_size, [&](size_t begin, size_t end) {
    const std::vector<TokenIds> p(prompts.begin() + begin, prompts.begin() + end);
    const std::vector<TokenIds> r(responses.begin() + begin, responses.begin() + end);
    const auto packed = PackPromptResponses(p, r, 0, device);
    const auto hidden = reward_model.Forward(packed.input_ids, packed.attention_mask);
    const auto scores = reward_model.Score(hidden, packed.attention_mask).select(1, 0).to(torch::kFloat64).cpu();
    for (size_t i = begin; i < end; ++i) out[i] = scores[i - begin].item<double>();
  });
  return out;
}

std::vector<int64_t> StopTokenIds(const model::ModelConfig& config, const SamplingOptions& options) {
  std::vector<int64_t> ids;
  auto add = [&](int64_t id) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  for (const auto id : config.eos_token_ids) add(id);
  for (const auto id : options.stop_token_ids) add(id);
  return ids;
}

torch::Tensor ProposalTokenLogprobs(model::CausalLm& model, const PackedSequences& packed,
                                    const SamplingOptions& options) {
  c10::InferenceMode guard;
  const auto hidden = model.Forward(packed.input_ids, packed.attention_mask);
  const int64_t batch = hidden.size(0), length = hidden.size(1);
  const auto logits = model.Logits(hidden).to(torch::kFloat32).reshape({batch * length, -1});
  // Response position j of row b sits at t = prompt_length - 1 + j.
  auto ban = torch::zeros({batch, length}, torch::kBool);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t start = packed.prompt_lengths[b] - 1;
    const int64_t count = std::min(options.min_new_tokens, packed.response_lengths[b]);
    if (count > 0) ban[b].narrow(0, start, count).fill_(true);
  }
  const auto logp = SamplingLogProbs(logits, options, StopTokenIds(model.config(), options),
                                     ban.reshape({-1}).to(logits.device()));
  const auto targets = packed.targets.reshape({-1});
  const auto has = targets.ne(PackedSequences::kIgnoreIndex);
  const auto picked = logp.gather(1, targets.clamp_min(0).unsqueeze(1)).squeeze(1);
  return torch::where(has, picked, torch::zeros_like(picked)).view({batch, length});
}

}  // namespace brain::sampling
