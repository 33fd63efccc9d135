// LlamaLm: the Llama family (RMSNorm, RoPE, SwiGLU, grouped-query attention, optional untied head).
#pragma once

#include <vector>

#include "core/model/causal_lm.h"

namespace brain::model {

class LlamaLm : public CausalLm {
 public:
  explicit LlamaLm(ModelConfig config);

  std::optional<std::string> CanonicalKey(const std::string& key) const override;

 protected:
  ForwardOutput Backbone(const torch::Tensor& input_ids, const torch::Tensor& positions,
                         const AttentionMask& mask, KvCache* cache, const torch::Tensor& query_valid,
                         bool weights_from_last_layer) override;
  torch::Tensor EmbeddingWeight() const override { return embed_->weight; }

 private:
  struct Block {
    RmsNorm input_norm{nullptr}, post_norm{nullptr};
    Dense q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
    Dense gate{nullptr}, up{nullptr}, down{nullptr};
  };
  Embedding embed_{nullptr};
  RmsNorm norm_{nullptr};
  std::vector<Block> blocks_;
};

// 1 / theta^(2i / head_dim) for i < head_dim / 2, fp32 (computed per call so dtype casts never touch it).
torch::Tensor RopeInverseFrequencies(const ModelConfig& config, torch::Device device);
// Rotary embedding tables for positions [B, T]: cos and sin, each [B, 1, T, head_dim] in fp32.
std::pair<torch::Tensor, torch::Tensor> RopeTables(const torch::Tensor& inv_freq,
                                                   const torch::Tensor& positions);
// x * cos + rotate_half(x) * sin, with rotate_half(x) = cat(-x2, x1) (HF's non-interleaved layout).
torch::Tensor ApplyRope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace brain::model
