// ModelConfig: the architecture of a decoder-only model, parsed from / written to an HF config.json.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace brain::model {

enum class ModelFamily { kGpt2, kLlama };

// What sits on top of the backbone: the LM head (XxxForCausalLM / GPT2LMHeadModel) or HF's
// sequence-classification `score` head (XxxForSequenceClassification), used for reward models.
enum class HeadKind { kLanguageModel, kSequenceClassification };

struct ModelConfig {
  ModelFamily family = ModelFamily::kGpt2;
  HeadKind head = HeadKind::kLanguageModel;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;       // == num_heads for GPT-2; < num_heads for grouped-query attention
  int64_t head_dim = 0;           // hidden_size / num_heads unless config.json says otherwise (Llama)
  int64_t intermediate_size = 0;  // MLP width (GPT-2: n_inner or 4 * n_embd)
  int64_t vocab_size = 0;
  int64_t max_positions = 0;    // GPT-2: size of the learned position table
  double norm_eps = 1e-5;       // layer_norm_epsilon (GPT-2) / rms_norm_eps (Llama)
  double rope_theta = 10000.0;  // Llama only
  bool tie_word_embeddings = true;
  bool attention_bias = false;          // Llama q/k/v/o biases (GPT-2 always has biases)
  bool mlp_bias = false;                // Llama gate/up/down biases
  std::string activation = "gelu_new";  // gelu_new, gelu_pytorch_tanh, gelu, relu, silu
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;
  int64_t num_labels = 1;  // rows of the `score` head (sequence classification only)
};

// Parses an HF config.json object; `file` names the source in errors ("FILE: field 'x': reason").
absl::StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& json, const std::string& file);
absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

// The HF config.json for `config` (loadable by transformers' AutoConfig / AutoModel*).
nlohmann::json ModelConfigToJson(const ModelConfig& config);
absl::Status SaveModelConfig(const ModelConfig& config, const std::string& path);

// Checks the invariants every model constructor relies on (positive sizes, heads divide, ...).
absl::Status ValidateModelConfig(const ModelConfig& config, const std::string& file);

}  // namespace brain::model
