// Loading and saving whole models as HF directories (config.json + safetensors).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/causal_lm.h"

namespace brain::model {

struct LoadOptions {
  torch::Dtype dtype = torch::kFloat32;  // parameter dtype (checkpoint tensors are converted)
  torch::Device device = torch::kCPU;
};

// Reads DIR/config.json, builds the family it names and strictly loads the checkpoint in DIR.
absl::StatusOr<std::shared_ptr<CausalLm>> LoadModel(const std::string& dir, const LoadOptions& options = {});

// Writes DIR/config.json and the parameters (model.safetensors, or shards + index when max_shard_bytes > 0
// and needed). Tied LM heads are not written, as transformers does.
absl::Status SaveModel(CausalLm& model, const std::string& dir, int64_t max_shard_bytes = 0);

}  // namespace brain::model
