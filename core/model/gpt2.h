// Gpt2Lm: the GPT-2 family (learned positions, LayerNorm, GELU-tanh, Conv1D projections, tied head).
#pragma once

#include <vector>

#include "core/model/causal_lm.h"

namespace brain::model {

class Gpt2Lm : public CausalLm {
 public:
  explicit Gpt2Lm(ModelConfig config);

  std::optional<std::string> CanonicalKey(const std::string& key) const override;

 protected:
  ForwardOutput Backbone(const torch::Tensor& input_ids, const torch::Tensor& positions,
                         const AttentionMask& mask, KvCache* cache, const torch::Tensor& query_valid,
                         bool weights_from_last_layer) override;
  torch::Tensor EmbeddingWeight() const override { return wte_->weight; }

 private:
  struct Block {
    LayerNorm ln_1{nullptr}, ln_2{nullptr};
    Conv1d c_attn{nullptr}, attn_proj{nullptr}, c_fc{nullptr}, mlp_proj{nullptr};
  };
  Embedding wte_{nullptr}, wpe_{nullptr};
  LayerNorm ln_f_{nullptr};
  std::vector<Block> blocks_;
};

}  // namespace brain::model
