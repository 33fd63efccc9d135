// Greedy decoding with the KV cache (the reference path the conformance test checks against transformers).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>

#include "core/model/causal_lm.h"

namespace brain::model {

// Prompts input_ids/attention_mask [B, T] (left- or right-padded). Returns [B, max_new_tokens] token ids.
// Once a row emits one of config().eos_token_ids, its later tokens are the pad id (pad_token_id, else the
// first eos id), as transformers does. `stop_at_eos` = false never stops.
torch::Tensor GreedyGenerate(CausalLm& model, const torch::Tensor& input_ids,
                             const torch::Tensor& attention_mask, int64_t max_new_tokens,
                             bool stop_at_eos = true);

}  // namespace brain::model
