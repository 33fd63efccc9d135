// CausalLm: the decoder-only model interface every family implements (forward, LM head, score head).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/model/attention.h"
#include "core/model/kv_cache.h"
#include "core/model/layers.h"
#include "core/model/model_config.h"

namespace brain::model {

struct ForwardOutput {
  torch::Tensor hidden;             // [B, T, d], after the final norm
  torch::Tensor attention_weights;  // [B, Tk] AVA reward weights of the last layer, when requested
};

struct ForwardOptions {
  torch::Tensor position_ids;      // [B, T]; derived from the mask when undefined
  KvCache* cache = nullptr;        // append to and attend over this cache
  bool attention_weights = false;  // also compute ForwardOutput::attention_weights
};

// Optional callbacks around the blocks of Forward (e.g. stage-3 sharding gathers a block's parameters before
// it runs and frees them after). Unset members are skipped; without hooks Forward is unchanged.
struct BlockHooks {
  std::function<void()> before_forward;                                   // before the embeddings
  std::function<void(int64_t layer)> before_layer;                        // before transformer layer `layer`
  std::function<void(int64_t layer, torch::Tensor& output)> after_layer;  // with the layer's output
};

// Named parameters of one block, in named_parameters() order.
using NamedParameters = std::vector<std::pair<std::string, torch::Tensor>>;

class CausalLm : public torch::nn::Module {
 public:
  explicit CausalLm(ModelConfig config);

  const ModelConfig& config() const { return config_; }

  // input_ids, attention_mask: [B, T] (mask: 1 = real token, 0 = pad; left or right padding). Default
  // position ids count real tokens only (cumsum(mask) - 1, plus the cache's row lengths), as HF does when
  // it derives them from the mask. Returns hidden states after the final norm.
  torch::Tensor Forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                        const torch::Tensor& position_ids = {}, KvCache* cache = nullptr);
  ForwardOutput Forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                        const ForwardOptions& options);

  // The LM head weight [V, d] (the tied embedding or the separate lm_head), for fused log-prob kernels.
  torch::Tensor LmHeadWeight() const;
  // hidden [..., d] -> logits [..., V].
  torch::Tensor Logits(const torch::Tensor& hidden) const;
  // The sequence-classification score at each row's last real token: [B, num_labels]. Requires
  // config().head == kSequenceClassification.
  torch::Tensor Score(const torch::Tensor& hidden, const torch::Tensor& attention_mask) const;

  // Random initialisation as transformers does it (normal(0, 0.02), norms 1, biases 0), seeded.
  void InitializeWeights(uint64_t seed);

  // The parameter name a checkpoint key maps to, or nullopt for keys to ignore (buffers, tied lm_head).
  virtual std::optional<std::string> CanonicalKey(const std::string& key) const;

  // The parameters grouped by block: element l < num_layers holds transformer layer l, the last element
  // everything else (embeddings, final norm, heads). Every parameter appears exactly once.
  std::vector<NamedParameters> ParameterBlocks();

  void SetBlockHooks(BlockHooks hooks) { hooks_ = std::move(hooks); }
  const BlockHooks& block_hooks() const { return hooks_; }

  // GPU only: run Forward under autocast to this dtype (kBFloat16 / kHalf); kFloat32 turns it off.
  void SetAutocastDtype(torch::Dtype dtype) { autocast_dtype_ = dtype; }

 protected:
  // Family-specific layers: embeddings -> blocks -> final norm. `weights_from_last_layer` asks for
  // AttentionColumnWeights of the last layer (written to out->attention_weights).
  virtual ForwardOutput Backbone(const torch::Tensor& input_ids, const torch::Tensor& positions,
                                 const AttentionMask& mask, KvCache* cache, const torch::Tensor& query_valid,
                                 bool weights_from_last_layer) = 0;
  virtual torch::Tensor EmbeddingWeight() const = 0;
  // Registers `lm_head` (untied LM) and/or `score` (sequence classification) on this module.
  void RegisterHeads();
  // Backbone calls these around every layer.
  void BeforeLayer(int64_t layer) {
    if (hooks_.before_layer) hooks_.before_layer(layer);
  }
  void AfterLayer(int64_t layer, torch::Tensor& output) {
    if (hooks_.after_layer) hooks_.after_layer(layer, output);
  }

  ModelConfig config_;
  Dense lm_head_{nullptr};
  Dense score_{nullptr};
  torch::Dtype autocast_dtype_ = torch::kFloat32;
  BlockHooks hooks_;
};

// Builds the family named by config.family (weights uninitialised; call InitializeWeights or load).
std::shared_ptr<CausalLm> CreateModel(const ModelConfig& config);

// Each row's last index with attention_mask == 1 (0 for an all-pad row): [B] int64.
torch::Tensor LastRealTokenIndex(const torch::Tensor& attention_mask);

}  // namespace brain::model
