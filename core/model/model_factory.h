// Model size presets and randomly initialised models (tests, demo and benchmarks need no downloads).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/causal_lm.h"
#include "core/model/model_config.h"

namespace brain::model {

// gpt2-tiny:  GPT-2, 2 layers, d 64, 4 heads, MLP 256, 512 positions, vocab 50257 (GPT-2's tokenizer).
// gpt2-124m:  GPT-2 small: 12 layers, d 768, 12 heads, MLP 3072, 1024 positions, vocab 50257.
// llama-tiny: Llama, 2 layers, d 64, 4 heads / 2 KV heads (GQA), head_dim 16, MLP 176, 512 positions,
//             vocab 50257, untied lm_head, rope_theta 10000.
// All use 50256 (GPT-2's <|endoftext|>) as BOS and EOS.
std::vector<std::string> PresetNames();
absl::StatusOr<ModelConfig> PresetConfig(const std::string& name);

struct CreateModelOptions {
  uint64_t seed = 0;
  std::optional<int64_t> vocab_size;         // overrides the preset's (BOS/EOS become V - 1)
  HeadKind head = HeadKind::kLanguageModel;  // kSequenceClassification: a 1-label `score` reward head
};

// The preset's config with `options` applied, randomly initialised (deterministic in the seed).
absl::StatusOr<std::shared_ptr<CausalLm>> CreatePresetModel(const std::string& preset,
                                                            const CreateModelOptions& options);

}  // namespace brain::model
