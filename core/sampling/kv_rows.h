// Row-level KV-cache surgery for continuous batching: read slots, insert prompts into rows, compact.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/model/kv_cache.h"
#include "core/model/model_config.h"

namespace brain::sampling {

// Keys/values of every filled slot of each layer: [B, Hkv, filled, hd] views of the cache's storage,
// obtained through a zero-width BeginStep/Update/EndStep (KvCache exposes no direct accessor).
std::vector<std::pair<torch::Tensor, torch::Tensor>> FilledKeyValues(model::KvCache& cache,
                                                                     const model::ModelConfig& config);

// One prompt's cached keys/values ([Hkv, Lp, hd] per layer), computed once and shared by its samples.
struct PromptKv {
  std::vector<torch::Tensor> keys, values;
  int64_t length = 0;
};

// Makes `rows` of the cache start over with the given prompts: their old slots become invalid, their
// length 0, then one step of width max(Lp) appends each prompt's keys/values to its row (other rows
// get invalid slots). Positions are baked into the keys, so slot order within a row does not matter.
void InsertPrompts(model::KvCache& cache, const model::ModelConfig& config, const std::vector<int64_t>& rows,
                   const std::vector<const PromptKv*>& prompts);

// A new cache holding only `keep_rows` (in that order), each row's valid slots moved to the front, with
// room for `extra_capacity` more slots. Rows listed in `empty_rows` (a subset of keep_rows) are kept empty.
std::unique_ptr<model::KvCache> CompactCache(model::KvCache& cache, const model::ModelConfig& config,
                                             const std::vector<int64_t>& keep_rows,
                                             const std::vector<int64_t>& empty_rows, int64_t extra_capacity);

}  // namespace brain::sampling
