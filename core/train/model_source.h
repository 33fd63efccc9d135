// Model sources: an HF directory or a size preset from the config, built into a CausalLm.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/model/causal_lm.h"
#include "proto/config.pb.h"

namespace brain::train {

struct ModelSourceOptions {
  model::HeadKind head = model::HeadKind::kLanguageModel;  // what the caller needs
  int64_t vocab_size = 0;                                   // presets: the tokenizer's (0 = preset's)
  uint64_t seed = 0;                                        // presets: initialisation seed
};

// Loads `source` (path: an HF directory; preset: random init). `field` names the config field in errors,
// e.g. "models.reward". A language model loaded where a reward model is wanted keeps its backbone and
// gets a fresh seeded score head (reward models start from the SFT model); any other head mismatch is
// an error naming both.
absl::StatusOr<std::shared_ptr<model::CausalLm>> BuildModel(const config::ModelSource& source,
                                                            const std::string& field,
                                                            const ModelSourceOptions& options);

// The tokenizer directory of a run: models.tokenizer, else the policy's path. Empty when neither is set.
std::string TokenizerDirectory(const config::ExperimentConfig& config);

}  // namespace brain::train
