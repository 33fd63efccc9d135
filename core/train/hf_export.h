// HF export: a model plus its tokenizer files as a directory `transformers` loads.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "core/model/causal_lm.h"

namespace brain::train {

// Writes config.json + model.safetensors (core/model SaveModel) into `out_dir` and copies the tokenizer
// files found in `tokenizer_dir` (tokenizer.json, vocab.json, merges.txt, tokenizer_config.json,
// special_tokens_map.json). Writes into OUT.tmp and renames, so an existing OUT is replaced only by a
// complete export.
absl::Status ExportHfDirectory(model::CausalLm& model, const std::string& tokenizer_dir, const std::string& out_dir);

}  // namespace brain::train
