// CausalLm: shared forward plumbing (positions, masks, cache steps, autocast), heads and initialisation.
#include "core/model/causal_lm.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "core/model/gpt2.h"
#include "core/model/llama.h"

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

namespace {

// hidden·Wᵀ for a decode step (≤ 128 rows) on the CPU in fp32 without autograd, computed vocab-major:
// for each block of W's rows, W_b·hᵀ ([block, rows], which MKL runs ~20% faster than h·W_bᵀ at these
// shapes), transposed into the output while the block sits in cache. The LM head of a 64-row step
// takes 0.84x the time of torch::linear (gpt2-124m, 2 threads; sampling_bench prints this ratio). The
// transpose costs the same per logit whatever the hidden size, so it only pays when each logit is a
// long dot product (d = 64: 1.6x slower), and with more rows its scattered writes cost more than the
// matmul saves (1.05x at 256 rows); those cases keep torch::linear.
constexpr int64_t kMaxVocabMajorRows = 128;
constexpr int64_t kMinVocabMajorDim = 512;

bool UseVocabMajorLogits(const torch::Tensor& hidden, const torch::Tensor& weight) {
  const bool grad = at::GradMode::is_enabled() && (hidden.requires_grad() || weight.requires_grad());
  if (grad || !hidden.device().is_cpu() || !weight.device().is_cpu() || hidden.dim() < 1 ||
      hidden.scalar_type() != torch::kFloat32 || weight.scalar_type() != torch::kFloat32 ||
      !weight.is_contiguous() || hidden.numel() == 0) {
    return false;
  }
  return hidden.size(-1) >= kMinVocabMajorDim && hidden.numel() / hidden.size(-1) <= kMaxVocabMajorRows;
}

// dst[r·ld + j] = src[j·cols + r] for j < n, r < cols. Tiles of 16 source rows: ATen's strided copy
// of a transposed view runs at ~1 GB/s here, which would cost more than the vocab-major matmul saves.
void TransposeInto(const float* src, int64_t n, int64_t cols, float* dst, int64_t ld) {
  constexpr int64_t kTile = 16;
  at::parallel_for(0, (n + kTile - 1) / kTile, 16, [&](int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end; ++tile) {
      const int64_t j0 = tile * kTile, j1 = std::min(n, j0 + kTile);
      for (int64_t r = 0; r < cols; ++r) {
        float* d = dst + r * ld;
        for (int64_t j = j0; j < j1; ++j) d[j] = src[j * cols + r];
      }
    }
  });
}

torch::Tensor VocabMajorLogits(const torch::Tensor& hidden, const torch::Tensor& weight) {
  const int64_t vocab = weight.size(0), dim = weight.size(1);
  const auto h = hidden.reshape({-1, dim});
  const int64_t rows = h.size(0);
  const auto h_t = h.t().contiguous();  // [d, rows]
  auto out = torch::empty({rows, vocab}, h.options());
  // Blocks of ~512 KB ([block, rows] fp32): 2048 vocabulary rows for a 64-row decode step.
  const int64_t block = std::clamp<int64_t>((int64_t{1} << 17) / rows, 256, 4096);
  auto scratch = torch::empty({std::min(block, vocab), rows}, h.options());
  for (int64_t start = 0; start < vocab; start += block) {
    const int64_t n = std::min(block, vocab - start);
    auto z = scratch.narrow(0, 0, n);
    at::mm_out(z, weight.narrow(0, start, n), h_t);
    TransposeInto(z.data_ptr<float>(), n, rows, out.data_ptr<float>() + start, vocab);
  }
  auto sizes = hidden.sizes().vec();
  sizes.back() = vocab;
  return out.view(sizes);
}

}  // namespace

torch::Tensor CausalLm::Logits(const torch::Tensor& hidden) const {
  const auto weight = LmHeadWeight();
  if (UseVocabMajorLogits(hidden, weight)) return VocabMajorLogits(hidden, weight);
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
