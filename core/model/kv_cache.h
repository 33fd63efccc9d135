// KvCache: preallocated per-layer keys/values for incremental decoding, with per-row valid lengths.
#pragma once

#include <torch/types.h>

#include <cstdint>
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
  int64_t num_layers() const { return static_cast<int64_t>(keys_.size()); }
  torch::ScalarType dtype() const { return keys_.empty() ? torch::kFloat32 : keys_[0].scalar_type(); }
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

  // Row API for continuous batching (call between forwards, never inside a step). Positions are baked
  // into the keys, so only a row's set of valid slots matters, not where they sit.

  // Keys/values of layer `layer` over the filled slots: [B, Hkv, filled, hd] views of the storage.
  std::pair<torch::Tensor, torch::Tensor> LayerKeyValues(int64_t layer) const;
  // Empties `rows`: their slots become invalid and their length 0 (no data moves).
  void ResetRows(const std::vector<int64_t>& rows);
  // Keeps only `rows`, in that order (may repeat a row); the batch becomes rows.size().
  void KeepRows(const std::vector<int64_t>& rows);
  // Moves each row's valid slots to the front (keeping their order), so filled becomes the longest row,
  // and sets the capacity to filled + free_slots (reallocating).
  void Pack(int64_t free_slots);
  // Grows the capacity to at least `capacity` slots, keeping the contents.
  void Reserve(int64_t capacity);
  // Appends one step of max_i(length of source row source_rows[i]) slots: row rows[i] (which should be
  // empty, see ResetRows) receives the valid slots of `source` row source_rows[i] (in slot order) and
  // that row's length; every other row gets invalid slots. Grows the capacity if needed. The caches
  // must share the model config and device.
  void CopyRowsFrom(const KvCache& source, const std::vector<int64_t>& source_rows,
                    const std::vector<int64_t>& rows);

 private:
  void Reallocate(int64_t batch, int64_t capacity);  // fresh zeroed storage (contents dropped)

  int64_t capacity_;
  int64_t filled_ = 0;
  int64_t pending_ = 0;                       // T of the step in progress
  std::vector<torch::Tensor> keys_, values_;  // [B, Hkv, capacity, hd] each
  torch::Tensor valid_;                       // [B, capacity] bool
  torch::Tensor row_lengths_;                 // [B] int64
};

}  // namespace brain::model
