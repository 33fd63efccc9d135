// CausalLm: shared forward plumbing (positions, masks, cache steps, autocast), heads and initialisation.
#include "core/model/causal_lm.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <cmath>

#include "absl/strings/match.h"
#include "core/model/gpt2.h"
#include "core/model/llama.h"
#include "core/model/cpu_inference_linear.h"

namespace brain::model {
namespace {

// Enables CUDA autocast for one forward and restores the previous state.
class CudaAutocastScope {
 public:
  explicit CudaAutocastScope(torch::Dtype dtype)
      : prev_enabled_(at::autocast::is_autocast_enabled(at::kCUDA)),
        prev_dtype_(at::autocast::get_autocast_dtype(at::kCUDA)) {
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
    at::autocast::increment_nesting();
  }
  ~CudaAutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
  }

 private:
  bool prev_enabled_;
  at::ScalarType prev_dtype_;
};

}  // namespace

CausalLm::CausalLm(ModelConfig config) : config_(std::move(config)) {}

void CausalLm::RegisterHeads() {
  const int64_t d = config_.hidden_size;
  if (config_.head == HeadKind::kSequenceClassification) {
    score_ = register_module("score", Dense(d, config_.num_labels, /*bias=*/false));
  } else if (!config_.tie_word_embeddings) {
    lm_head_ = register_module("lm_head", Dense(d, config_.vocab_size, /*bias=*/false));
  }
}

torch::Tensor CausalLm::Forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                const torch::Tensor& position_ids, KvCache* cache) {
  ForwardOptions options;
  options.position_ids = position_ids;
  options.cache = cache;
  return Forward(input_ids, attention_mask, options).hidden;
}

ForwardOutput CausalLm::Forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                const ForwardOptions& options) {
  TORCH_CHECK(input_ids.dim() == 2, "Forward: input_ids must be [B, T], got ", input_ids.sizes());
  const auto valid =
      attention_mask.defined() ? attention_mask.to(torch::kBool) : torch::ones_like(input_ids, torch::kBool);
  TORCH_CHECK(valid.sizes() == input_ids.sizes(), "Forward: attention_mask ", valid.sizes(), " != input_ids ",
              input_ids.sizes());
  std::optional<CudaAutocastScope> autocast;
  if (input_ids.is_cuda() && autocast_dtype_ != torch::kFloat32) autocast.emplace(autocast_dtype_);

  if (hooks_.before_forward) hooks_.before_forward();
  KvCache* cache = options.cache;
  torch::Tensor positions = options.position_ids;
  if (!positions.defined()) {
    positions = valid.to(torch::kLong).cumsum(1) - 1;
    if (cache != nullptr) positions = positions + cache->row_lengths().unsqueeze(1);
    positions = positions.masked_fill(valid.logical_not(), 1);
  }
  const int64_t past = cache != nullptr ? cache->BeginStep(valid) : 0;
  const auto key_valid = cache != nullptr ? cache->key_valid() : valid;
  const AttentionMask mask = BuildAttentionMask(key_valid, past);
  ForwardOutput out = Backbone(input_ids, positions, mask, cache, valid, options.attention_weights);
  if (cache != nullptr) cache->EndStep();
  return out;
}

torch::Tensor CausalLm::LmHeadWeight() const { return lm_head_ ? lm_head_->weight : EmbeddingWeight(); }

torch::Tensor CausalLm::Logits(const torch::Tensor& hidden) const {
  const auto weight = LmHeadWeight();
  if (UseCpuInferenceLinear(hidden, weight)) return CpuInferenceLinear(hidden, weight, {});
  return torch::linear(hidden, weight);
}

torch::Tensor LastRealTokenIndex(const torch::Tensor& attention_mask) {
  const int64_t t = attention_mask.size(1);
  const auto idx =
      torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(attention_mask.device()));
  return (idx.unsqueeze(0) * attention_mask.to(torch::kLong)).argmax(1);
}

torch::Tensor CausalLm::Score(const torch::Tensor& hidden, const torch::Tensor& attention_mask) const {
  TORCH_CHECK(score_, "Score: the model has no sequence-classification head");
  const auto rows =
      torch::arange(hidden.size(0), torch::TensorOptions().dtype(torch::kLong).device(hidden.device()));
  const auto last = hidden.index({rows, LastRealTokenIndex(attention_mask)});  // [B, d]
  return torch::linear(last, score_->weight);
}

void CausalLm::InitializeWeights(uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::NoGradGuard no_grad;
  const double std = 0.02;
  for (auto& item : named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    torch::Tensor p = item.value();
    const bool norm = absl::StrContains(name, "ln_") || absl::StrContains(name, "norm");
    if (absl::EndsWith(name, ".bias")) {
      p.zero_();
    } else if (norm) {
      p.fill_(1.0);
    } else {
      // GPT-2 scales residual projections by 1/sqrt(2 * n_layer) (as transformers does).
      const bool residual = config_.family == ModelFamily::kGpt2 && absl::EndsWith(name, "c_proj.weight");
      const double s = residual ? std / std::sqrt(2.0 * config_.num_layers) : std;
      auto cpu = torch::empty(p.sizes(), torch::kFloat32);
      cpu.normal_(0.0, s, gen);
      p.copy_(cpu);
    }
  }
}

std::optional<std::string> CausalLm::CanonicalKey(const std::string& key) const {
  if (key == "lm_head.weight" && !lm_head_) return std::nullopt;  // tied: the embedding is the head
  return key;
}

std::vector<NamedParameters> CausalLm::ParameterBlocks() {
  const std::string prefix = config_.family == ModelFamily::kGpt2 ? "transformer.h." : "model.layers.";
  std::vector<NamedParameters> blocks(config_.num_layers + 1);
  for (auto& item : named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    size_t layer = blocks.size() - 1;
    if (absl::StartsWith(name, prefix)) {
      const size_t dot = name.find('.', prefix.size());
      layer = std::stoul(name.substr(prefix.size(), dot - prefix.size()));
      TORCH_CHECK(layer + 1 < blocks.size(), "ParameterBlocks: ", name, " names a layer >= num_layers");
    }
    blocks[layer].emplace_back(name, item.value());
  }
  return blocks;
}

std::shared_ptr<CausalLm> CreateModel(const ModelConfig& config) {
  if (config.family == ModelFamily::kGpt2) return std::make_shared<Gpt2Lm>(config);
  return std::make_shared<LlamaLm>(config);
}

}  // namespace brain::model
