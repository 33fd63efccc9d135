// KvCache: slot bookkeeping, per-layer key/value storage, and row surgery for continuous batching.
#include "core/model/kv_cache.h"

#include <torch/torch.h>

#include <algorithm>

namespace brain::model {
namespace {

torch::Tensor IndexTensor(const std::vector<int64_t>& rows, const torch::Device& device) {
  return torch::tensor(rows, torch::TensorOptions().dtype(torch::kLong)).to(device);
}

}  // namespace

KvCache::KvCache(const ModelConfig& config, int64_t batch, int64_t capacity, torch::TensorOptions options)
    : capacity_(capacity) {
  for (int64_t l = 0; l < config.num_layers; ++l) {
    keys_.push_back(torch::zeros({batch, config.num_kv_heads, capacity, config.head_dim}, options));
    values_.push_back(torch::zeros({batch, config.num_kv_heads, capacity, config.head_dim}, options));
  }
  const auto dev = torch::TensorOptions().device(options.device());
  valid_ = torch::zeros({batch, capacity}, dev.dtype(torch::kBool));
  row_lengths_ = torch::zeros({batch}, dev.dtype(torch::kLong));
}

torch::Tensor KvCache::key_valid() const { return valid_.narrow(1, 0, filled_ + pending_); }

int64_t KvCache::BeginStep(const torch::Tensor& new_valid) {
  const int64_t t = new_valid.size(1);
  TORCH_CHECK(new_valid.size(0) == batch(), "KvCache: batch ", new_valid.size(0), " != cache batch ",
              batch());
  TORCH_CHECK(filled_ + t <= capacity_, "KvCache: ", filled_, " + ", t, " tokens exceed capacity ",
              capacity_);
  valid_.narrow(1, filled_, t).copy_(new_valid.to(torch::kBool));
  pending_ = t;
  return filled_;
}

std::pair<torch::Tensor, torch::Tensor> KvCache::Update(int64_t layer, const torch::Tensor& k,
                                                        const torch::Tensor& v) {
  keys_[layer].narrow(2, filled_, pending_).copy_(k);
  values_[layer].narrow(2, filled_, pending_).copy_(v);
  return {keys_[layer].narrow(2, 0, filled_ + pending_), values_[layer].narrow(2, 0, filled_ + pending_)};
}

void KvCache::EndStep() {
  row_lengths_ += valid_.narrow(1, filled_, pending_).sum(1);
  filled_ += pending_;
  pending_ = 0;
}

void KvCache::Reset() {
  filled_ = 0;
  pending_ = 0;
  valid_.zero_();
  row_lengths_.zero_();
}

std::pair<torch::Tensor, torch::Tensor> KvCache::LayerKeyValues(int64_t layer) const {
  return {keys_[layer].narrow(2, 0, filled_), values_[layer].narrow(2, 0, filled_)};
}

void KvCache::Reallocate(int64_t batch, int64_t capacity) {
  for (auto* store : {&keys_, &values_}) {
    for (auto& t : *store) t = torch::zeros({batch, t.size(1), capacity, t.size(3)}, t.options());
  }
  valid_ = torch::zeros({batch, capacity}, valid_.options());
  row_lengths_ = torch::zeros({batch}, row_lengths_.options());
  capacity_ = capacity;
  filled_ = 0;
  pending_ = 0;
}

void KvCache::ResetRows(const std::vector<int64_t>& rows) {
  TORCH_CHECK(pending_ == 0, "KvCache::ResetRows: inside a step");
  if (rows.empty()) return;
  const auto index = IndexTensor(rows, valid_.device());
  valid_.index_fill_(0, index, false);
  row_lengths_.index_fill_(0, index, 0);
}

void KvCache::KeepRows(const std::vector<int64_t>& rows) {
  TORCH_CHECK(pending_ == 0, "KvCache::KeepRows: inside a step");
  const auto index = IndexTensor(rows, valid_.device());
  const int64_t batch = static_cast<int64_t>(rows.size());
  for (auto* store : {&keys_, &values_}) {
    for (auto& t : *store) {
      auto fresh = torch::zeros({batch, t.size(1), capacity_, t.size(3)}, t.options());
      fresh.narrow(2, 0, filled_).copy_(t.narrow(2, 0, filled_).index_select(0, index));
      t = std::move(fresh);
    }
  }
  valid_ = valid_.index_select(0, index);
  row_lengths_ = row_lengths_.index_select(0, index);
}

void KvCache::Pack(int64_t free_slots) {
  TORCH_CHECK(pending_ == 0, "KvCache::Pack: inside a step");
  const int64_t batch = this->batch();
  const auto valid = valid_.narrow(1, 0, filled_);
  const auto counts = valid.sum(1);  // [B]
  const int64_t width = batch > 0 && filled_ > 0 ? counts.max().item<int64_t>() : 0;
  auto old_keys = keys_, old_values = values_;
  const auto lengths = row_lengths_;
  Reallocate(batch, width + std::max<int64_t>(free_slots, 0));
  row_lengths_.copy_(lengths);
  if (width == 0) return;
  // Valid slots first, in slot order: a stable sort of the inverted mask.
  const auto order = std::get<1>(valid.logical_not().to(torch::kInt).sort(/*stable=*/true, 1, false));
  const auto slots = order.narrow(1, 0, width);  // [B, W]
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(valid_.device());
  valid_.narrow(1, 0, width).copy_(torch::arange(width, long_opts).unsqueeze(0) < counts.unsqueeze(1));
  for (size_t l = 0; l < keys_.size(); ++l) {
    const auto& k = old_keys[l];
    const auto gather = slots.view({batch, 1, width, 1}).expand({batch, k.size(1), width, k.size(3)});
    keys_[l].narrow(2, 0, width).copy_(k.gather(2, gather));
    values_[l].narrow(2, 0, width).copy_(old_values[l].gather(2, gather));
  }
  filled_ = width;
}

void KvCache::Reserve(int64_t capacity) {
  TORCH_CHECK(pending_ == 0, "KvCache::Reserve: inside a step");
  if (capacity <= capacity_) return;
  for (auto* store : {&keys_, &values_}) {
    for (auto& t : *store) {
      auto fresh = torch::zeros({t.size(0), t.size(1), capacity, t.size(3)}, t.options());
      fresh.narrow(2, 0, filled_).copy_(t.narrow(2, 0, filled_));
      t = std::move(fresh);
    }
  }
  auto valid = torch::zeros({valid_.size(0), capacity}, valid_.options());
  valid.narrow(1, 0, filled_).copy_(valid_.narrow(1, 0, filled_));
  valid_ = std::move(valid);
  capacity_ = capacity;
}

void KvCache::CopyRowsFrom(const KvCache& source, const std::vector<int64_t>& source_rows,
                           const std::vector<int64_t>& rows) {
  TORCH_CHECK(pending_ == 0 && source.pending_ == 0, "KvCache::CopyRowsFrom: inside a step");
  TORCH_CHECK(source_rows.size() == rows.size(), "KvCache::CopyRowsFrom: ", source_rows.size(),
              " source rows for ", rows.size(), " rows");
  TORCH_CHECK(source.keys_.size() == keys_.size(), "KvCache::CopyRowsFrom: layer counts differ");
  if (rows.empty()) return;
  // The source rows' validity on the CPU, to find each row's slots without a device sync per row.
  const auto src_valid = source.valid_.narrow(1, 0, source.filled_)
                             .index_select(0, IndexTensor(source_rows, source.valid_.device()))
                             .to(torch::kCPU)
                             .contiguous();
  const auto va = src_valid.accessor<bool, 2>();
  std::vector<int64_t> counts(rows.size(), 0);
  std::vector<bool> prefix(rows.size(), true);
  int64_t width = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int64_t s = 0; s < source.filled_; ++s) {
      if (va[i][s]) {
        prefix[i] = prefix[i] && s == counts[i];
        ++counts[i];
      }
    }
    width = std::max(width, counts[i]);
  }
  if (filled_ + width > capacity_) Reserve(filled_ + width);
  valid_.narrow(1, filled_, width).zero_();
  const auto dst_index = IndexTensor(rows, valid_.device());
  row_lengths_.index_copy_(0, dst_index,
                           source.row_lengths_.index_select(0, IndexTensor(source_rows, source.valid_.device()))
                               .to(row_lengths_.device()));
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t c = counts[i];
    if (c == 0) continue;
    const int64_t r = rows[i], s = source_rows[i];
    valid_[r].narrow(0, filled_, c).fill_(true);
    torch::Tensor slots;
    if (!prefix[i]) {
      slots = src_valid[static_cast<int64_t>(i)].nonzero().view({-1}).to(source.valid_.device());
    }
    for (size_t l = 0; l < keys_.size(); ++l) {
      for (const bool is_key : {true, false}) {
        const auto& from = (is_key ? source.keys_ : source.values_)[l][s];  // [Hkv, cap, hd]
        auto to = (is_key ? keys_ : values_)[l][r].narrow(1, filled_, c);
        to.copy_(prefix[i] ? from.narrow(1, 0, c) : from.index_select(1, slots));
      }
    }
  }
  filled_ += width;
}

}  // namespace brain::model
