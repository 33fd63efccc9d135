// Model presets and seeded random initialisation.
#include "core/model/model_factory.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace brain::model {

std::vector<std::string> PresetNames() { return {"gpt2-tiny", "gpt2-124m", "llama-tiny"}; }

absl::StatusOr<ModelConfig> PresetConfig(const std::string& name) {
  ModelConfig c;
  c.vocab_size = 50257;
  c.bos_token_id = 50256;
  c.eos_token_ids = {50256};
  if (name == "gpt2-tiny" || name == "gpt2-124m") {
    const bool tiny = name == "gpt2-tiny";
    c.family = ModelFamily::kGpt2;
    c.hidden_size = tiny ? 64 : 768;
    c.num_layers = tiny ? 2 : 12;
    c.num_heads = tiny ? 4 : 12;
    c.num_kv_heads = c.num_heads;
    c.head_dim = c.hidden_size / c.num_heads;
    c.intermediate_size = 4 * c.hidden_size;
    c.max_positions = tiny ? 512 : 1024;
    c.norm_eps = 1e-5;
    c.activation = "gelu_new";
    c.tie_word_embeddings = true;
  } else if (name == "llama-tiny") {
    c.family = ModelFamily::kLlama;
    c.hidden_size = 64;
    c.num_layers = 2;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.head_dim = 16;
    c.intermediate_size = 176;
    c.max_positions = 512;
    c.norm_eps = 1e-6;
    c.rope_theta = 10000.0;
    c.activation = "silu";
    c.tie_word_embeddings = false;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown model preset '", name, "' (choose one of: ", absl::StrJoin(PresetNames(), ", "), ")"));
  }
  return c;
}

absl::StatusOr<std::shared_ptr<CausalLm>> CreatePresetModel(const std::string& preset,
                                                            const CreateModelOptions& options) {
  auto config = PresetConfig(preset);
  if (!config.ok()) return config.status();
  if (options.vocab_size) {
    if (*options.vocab_size <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocab size must be > 0 (got ", *options.vocab_size, ")"));
    }
    config->vocab_size = *options.vocab_size;
    // Special ids must stay inside the vocabulary: the last id plays GPT-2's <|endoftext|>.
    config->bos_token_id = config->vocab_size - 1;
    config->eos_token_ids = {config->vocab_size - 1};
  }
  config->head = options.head;
  if (options.head == HeadKind::kSequenceClassification) {
    config->num_labels = 1;
    config->pad_token_id = config->eos_token_ids.front();  // HF needs a pad id to find the last token
  }
  if (auto s = ValidateModelConfig(*config, "preset " + preset); !s.ok()) return s;
  auto model = CreateModel(*config);
  model->InitializeWeights(options.seed);
  return model;
}

}  // namespace brain::model
