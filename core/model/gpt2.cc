// Gpt2Lm: module tree named as HF's GPT2LMHeadModel / GPT2ForSequenceClassification, and its forward.
#include "core/model/gpt2.h"

#include <torch/torch.h>

#include "absl/strings/match.h"

namespace brain::model {

Gpt2Lm::Gpt2Lm(ModelConfig config) : CausalLm(std::move(config)) {
  const ModelConfig& c = config_;
  const int64_t d = c.hidden_size;
  auto transformer = register_module("transformer", std::make_shared<torch::nn::Module>());
  wte_ = transformer->register_module("wte", Embedding(c.vocab_size, d));
  wpe_ = transformer->register_module("wpe", Embedding(c.max_positions, d));
  auto h = transformer->register_module("h", std::make_shared<torch::nn::Module>());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    auto node = h->register_module(std::to_string(i), std::make_shared<torch::nn::Module>());
    Block b;
    b.ln_1 = node->register_module("ln_1", LayerNorm(d, c.norm_eps));
    auto attn = node->register_module("attn", std::make_shared<torch::nn::Module>());
    b.c_attn = attn->register_module("c_attn", Conv1d(d, 3 * d));
    b.attn_proj = attn->register_module("c_proj", Conv1d(d, d));
    b.ln_2 = node->register_module("ln_2", LayerNorm(d, c.norm_eps));
    auto mlp = node->register_module("mlp", std::make_shared<torch::nn::Module>());
    b.c_fc = mlp->register_module("c_fc", Conv1d(d, c.intermediate_size));
    b.mlp_proj = mlp->register_module("c_proj", Conv1d(c.intermediate_size, d));
    blocks_.push_back(b);
  }
  ln_f_ = transformer->register_module("ln_f", LayerNorm(d, c.norm_eps));
  RegisterHeads();
}

std::optional<std::string> Gpt2Lm::CanonicalKey(const std::string& key) const {
  // The causal-mask buffers of old checkpoints are not weights.
  if (absl::EndsWith(key, ".attn.bias") || absl::EndsWith(key, ".attn.masked_bias")) return std::nullopt;
  // The original OpenAI checkpoints store the backbone without the "transformer." prefix.
  for (const char* root : {"h.", "wte.", "wpe.", "ln_f."}) {
    if (absl::StartsWith(key, root)) return "transformer." + key;
  }
  return CausalLm::CanonicalKey(key);
}

ForwardOutput Gpt2Lm::Backbone(const torch::Tensor& input_ids, const torch::Tensor& positions,
                               const AttentionMask& mask, KvCache* cache, const torch::Tensor& query_valid,
                               bool weights_from_last_layer) {
  const ModelConfig& c = config_;
  const int64_t batch = input_ids.size(0);
  const int64_t t = input_ids.size(1);
  const int64_t d = c.hidden_size;
  ForwardOutput out;
  auto x = wte_->forward(input_ids) + wpe_->forward(positions);
  for (size_t l = 0; l < blocks_.size(); ++l) {
    BeforeLayer(static_cast<int64_t>(l));
    Block& b = blocks_[l];
    const auto qkv = b.c_attn->forward(b.ln_1->forward(x)).split(d, -1);
    auto heads = [&](const torch::Tensor& y) {
      return y.view({batch, t, c.num_heads, c.head_dim}).transpose(1, 2);
    };
    const auto q = heads(qkv[0]);
    auto k = heads(qkv[1]);
    auto v = heads(qkv[2]);
    if (cache != nullptr) std::tie(k, v) = cache->Update(static_cast<int64_t>(l), k, v);
    if (weights_from_last_layer && l + 1 == blocks_.size()) {
      out.attention_weights = AttentionColumnWeights(q, k, mask, query_valid);
    }
    const auto a = CausalAttention(q, k, v, mask).transpose(1, 2).reshape({batch, t, d});
    x = x + b.attn_proj->forward(a);
    x = x + b.mlp_proj->forward(Activation(c.activation, b.c_fc->forward(b.ln_2->forward(x))));
    AfterLayer(static_cast<int64_t>(l), x);
  }
  out.hidden = ln_f_->forward(x);
  return out;
}

}  // namespace brain::model
