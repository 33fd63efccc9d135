// GreedyGenerate: prefill the cache with the prompts, then one token per step.
#include "core/model/generation.h"

#include <torch/torch.h>

#include "core/model/kv_cache.h"

namespace brain::model {

torch::Tensor GreedyGenerate(CausalLm& model, const torch::Tensor& input_ids,
                             const torch::Tensor& attention_mask, int64_t max_new_tokens, bool stop_at_eos) {
  torch::NoGradGuard no_grad;
  const ModelConfig& config = model.config();
  const int64_t batch = input_ids.size(0);
  const auto device = input_ids.device();
  const auto param = model.parameters().front();
  KvCache cache(config, batch, input_ids.size(1) + max_new_tokens,
                torch::TensorOptions().dtype(param.scalar_type()).device(device));
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto rows = torch::arange(batch, long_opts);

  auto hidden = model.Forward(input_ids, attention_mask, {}, &cache);
  auto last = hidden.index({rows, LastRealTokenIndex(attention_mask)});  // [B, d]
  std::vector<torch::Tensor> out;
  auto finished = torch::zeros({batch}, long_opts.dtype(torch::kBool));
  const bool use_eos = stop_at_eos && !config.eos_token_ids.empty();
  const int64_t pad = config.pad_token_id.value_or(use_eos ? config.eos_token_ids[0] : 0);
  const auto eos = use_eos ? torch::tensor(config.eos_token_ids, long_opts) : torch::Tensor();
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    auto next = model.Logits(last).argmax(-1);  // [B]
    if (use_eos) {
      next = torch::where(finished, torch::full_like(next, pad), next);
      finished = finished | torch::isin(next, eos);
    }
    out.push_back(next);
    if (step + 1 == max_new_tokens) break;
    hidden = model.Forward(next.unsqueeze(1), torch::ones({batch, 1}, long_opts), {}, &cache);
    last = hidden.select(1, 0);
  }
  return torch::stack(out, 1);
}

}  // namespace brain::model
