// LlamaLm: module tree named as HF's LlamaForCausalLM / LlamaForSequenceClassification, RoPE and forward.
#include "core/model/llama.h"

#include <torch/torch.h>

#include "absl/strings/match.h"

namespace brain::model {

LlamaLm::LlamaLm(ModelConfig config) : CausalLm(std::move(config)) {
  const ModelConfig& c = config_;
  const int64_t d = c.hidden_size;
  auto model = register_module("model", std::make_shared<torch::nn::Module>());
  embed_ = model->register_module("embed_tokens", Embedding(c.vocab_size, d));
  auto layers = model->register_module("layers", std::make_shared<torch::nn::Module>());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    auto node = layers->register_module(std::to_string(i), std::make_shared<torch::nn::Module>());
    Block b;
    b.input_norm = node->register_module("input_layernorm", RmsNorm(d, c.norm_eps));
    auto attn = node->register_module("self_attn", std::make_shared<torch::nn::Module>());
    b.q = attn->register_module("q_proj", Dense(d, c.num_heads * c.head_dim, c.attention_bias));
    b.k = attn->register_module("k_proj", Dense(d, c.num_kv_heads * c.head_dim, c.attention_bias));
    b.v = attn->register_module("v_proj", Dense(d, c.num_kv_heads * c.head_dim, c.attention_bias));
    b.o = attn->register_module("o_proj", Dense(c.num_heads * c.head_dim, d, c.attention_bias));
    b.post_norm = node->register_module("post_attention_layernorm", RmsNorm(d, c.norm_eps));
    auto mlp = node->register_module("mlp", std::make_shared<torch::nn::Module>());
    b.gate = mlp->register_module("gate_proj", Dense(d, c.intermediate_size, c.mlp_bias));
    b.up = mlp->register_module("up_proj", Dense(d, c.intermediate_size, c.mlp_bias));
    b.down = mlp->register_module("down_proj", Dense(c.intermediate_size, d, c.mlp_bias));
    blocks_.push_back(b);
  }
  norm_ = model->register_module("norm", RmsNorm(d, c.norm_eps));
  RegisterHeads();
}

std::optional<std::string> LlamaLm::CanonicalKey(const std::string& key) const {
  if (absl::EndsWith(key, "rotary_emb.inv_freq")) return std::nullopt;  // a buffer some exporters write
  return CausalLm::CanonicalKey(key);
}

torch::Tensor RopeInverseFrequencies(const ModelConfig& config, torch::Device device) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto exponents =
      torch::arange(0, config.head_dim, 2, opts).to(torch::kFloat32) / double(config.head_dim);
  return 1.0 / torch::pow(config.rope_theta, exponents);
}

std::pair<torch::Tensor, torch::Tensor> RopeTables(const torch::Tensor& inv_freq,
                                                   const torch::Tensor& positions) {
  const auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;
  const auto emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);  // [B, 1, T, hd]
  return {emb.cos(), emb.sin()};
}

torch::Tensor ApplyRope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const auto rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos.to(x.scalar_type()) + rotated * sin.to(x.scalar_type());
}

ForwardOutput LlamaLm::Backbone(const torch::Tensor& input_ids, const torch::Tensor& positions,
                                const AttentionMask& mask, KvCache* cache, const torch::Tensor& query_valid,
                                bool weights_from_last_layer) {
  const ModelConfig& c = config_;
  const int64_t batch = input_ids.size(0);
  const int64_t t = input_ids.size(1);
  ForwardOutput out;
  const auto [cos, sin] = RopeTables(RopeInverseFrequencies(c, positions.device()), positions);
  auto x = embed_->forward(input_ids);
  for (size_t l = 0; l < blocks_.size(); ++l) {
    BeforeLayer(static_cast<int64_t>(l));
    Block& b = blocks_[l];
    const auto h = b.input_norm->forward(x);
    auto heads = [&](const torch::Tensor& y, int64_t n) {
      return y.view({batch, t, n, c.head_dim}).transpose(1, 2);
    };
    const auto q = ApplyRope(heads(b.q->forward(h), c.num_heads), cos, sin);
    auto k = ApplyRope(heads(b.k->forward(h), c.num_kv_heads), cos, sin);
    auto v = heads(b.v->forward(h), c.num_kv_heads);
    if (cache != nullptr) std::tie(k, v) = cache->Update(static_cast<int64_t>(l), k, v);
    if (weights_from_last_layer && l + 1 == blocks_.size()) {
      out.attention_weights = AttentionColumnWeights(q, k, mask, query_valid);
    }
    const auto a =
        CausalAttention(q, k, v, mask).transpose(1, 2).reshape({batch, t, c.num_heads * c.head_dim});
    x = x + b.o->forward(a);
    const auto m = b.post_norm->forward(x);
    x = x + b.down->forward(Activation(c.activation, b.gate->forward(m)) * b.up->forward(m));
    AfterLayer(static_cast<int64_t>(l), x);
  }
  out.hidden = norm_->forward(x);
  return out;
}

}  // namespace brain::model
