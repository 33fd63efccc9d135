// KvCache: preallocated per-layer keys/values for incremental decoding, with per-row valid lengths.
#pragma once

#include <torch/types.h>

#include <utility>
#include <vector>

#include "core/model/model_config.h"

namespace brain::model {

// Slots are shared by the batch (every forward appends T slots to all rows); which slots hold real
// tokens is tracked per row by `key_valid`, and `row_lengths` counts each row's real tokens (the next
// position id). So left- or right-padded prompts decode together without repacking.
class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t batch, int64_t capacity, torch::TensorOptions options);

  int64_t capacity() const { return capacity_; }
  int64_t filled() const { return filled_; }  // slots in use
  int64_t batch() const { return row_lengths_.size(0); }
  const torch::Tensor& row_lengths() const { return row_lengths_; }  // [B] int64
  torch::Tensor key_valid() const;  // [B, filled (+ the step in progress)] bool

  // Model-side protocol for one forward of T new tokens: BeginStep records their validity [B, T] and
  // returns the slot where they start; Update writes layer l's new k/v ([B, Hkv, T, hd]) and returns the
  // keys/values of all slots so far; EndStep commits the step.
  int64_t BeginStep(const torch::Tensor& new_valid);
  std::pair<torch::Tensor, torch::Tensor> Update(int64_t layer, const torch::Tensor& k,
                                                 const torch::Tensor& v);
  void EndStep();

  // Forgets everything (keeps the allocation).
  void Reset();

 private:
  int64_t capacity_;
  int64_t filled_ = 0;
  int64_t pending_ = 0;                       // T of the step in progress
  std::vector<torch::Tensor> keys_, values_;  // [B, Hkv, capacity, hd] each
  torch::Tensor valid_;                       // [B, capacity] bool
  torch::Tensor row_lengths_;                 // [B] int64
};

}  // namespace brain::model
