// KvCache: slot bookkeeping and per-layer key/value storage.
#include "core/model/kv_cache.h"

#include <torch/torch.h>

namespace brain::model {

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

}  // namespace brain::model
