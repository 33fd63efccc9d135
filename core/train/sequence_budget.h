// CheckSequenceBudget: a config's sequence lengths against the policy model's position table.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "proto/config.pb.h"

namespace brain::train {

// OK when models.max_seq_len <= model_max_positions (n_positions / max_position_embeddings of the policy's
// config.json, or a preset's table) and the config's own budget holds (config validation: prompt + response,
// or prompt + sampling.max_new_tokens for BRAIn, within models.max_seq_len). Otherwise InvalidArgument
// naming the fields and values. Call it once the policy model's config is known, before any data is read.
absl::Status CheckSequenceBudget(const config::ExperimentConfig& config, int64_t model_max_positions);

}  // namespace brain::train
