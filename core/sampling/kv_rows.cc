// FilledKeyValues, InsertPrompts, CompactCache.
#include "core/sampling/kv_rows.h"

#include <torch/torch.h>

#include <algorithm>

namespace brain::sampling {

std::vector<std::pair<torch::Tensor, torch::Tensor>> FilledKeyValues(model::KvCache& cache,
                                                                     const model::ModelConfig& config) {
  const auto& lengths = cache.row_lengths();
  const int64_t batch = cache.batch();
  cache.BeginStep(torch::zeros({batch, 0}, lengths.options().dtype(torch::kBool)));
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  for (int64_t l = 0; l < config.num_layers; ++l) {
    // The storage dtype is only known from the first Update's result; a zero-width copy_ converts.
    const auto empty = torch::zeros({batch, config.num_kv_heads, 0, config.head_dim},
                                    lengths.options().dtype(torch::kFloat32));
    out.push_back(cache.Update(l, empty, empty));
  }
  cache.EndStep();
  return out;
}

void InsertPrompts(model::KvCache& cache, const model::ModelConfig& config, const std::vector<int64_t>& rows,
                   const std::vector<const PromptKv*>& prompts) {
  if (rows.empty()) return;
  const int64_t batch = cache.batch();
  const auto dev = cache.row_lengths().device();
  const auto row_index = torch::tensor(rows, torch::TensorOptions().dtype(torch::kLong)).to(dev);
  // Forget the rows' old contents (both tensors are views of the cache's own state).
  cache.key_valid().index_fill_(0, row_index, false);
  cache.row_lengths().index_fill_(0, row_index, 0);
  int64_t width = 0;
  for (const auto* p : prompts) width = std::max(width, p->length);
  auto valid = torch::zeros({batch, width}, torch::TensorOptions().dtype(torch::kBool).device(dev));
  for (size_t i = 0; i < rows.size(); ++i) valid[rows[i]].narrow(0, 0, prompts[i]->length).fill_(true);
  cache.BeginStep(valid);
  for (int64_t l = 0; l < config.num_layers; ++l) {
    const auto& ref = prompts[0]->keys[l];
    auto k = torch::zeros({batch, config.num_kv_heads, width, config.head_dim}, ref.options());
    auto v = torch::zeros_like(k);
    for (size_t i = 0; i < rows.size(); ++i) {
      const int64_t lp = prompts[i]->length;
      k[rows[i]].narrow(1, 0, lp).copy_(prompts[i]->keys[l]);
      v[rows[i]].narrow(1, 0, lp).copy_(prompts[i]->values[l]);
    }
    cache.Update(l, k, v);
  }
  cache.EndStep();
}

std::unique_ptr<model::KvCache> CompactCache(model::KvCache& cache, const model::ModelConfig& config,
                                             const std::vector<int64_t>& keep_rows,
                                             const std::vector<int64_t>& empty_rows, int64_t extra_capacity) {
  const auto dev = cache.row_lengths().device();
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(dev);
  const auto keep = torch::tensor(keep_rows, torch::TensorOptions().dtype(torch::kLong)).to(dev);
  auto valid = cache.key_valid().index_select(0, keep).clone();  // [B', F]
  for (const int64_t r : empty_rows) {
    const auto pos = std::find(keep_rows.begin(), keep_rows.end(), r) - keep_rows.begin();
    valid[pos].fill_(false);
  }
  const auto counts = valid.sum(1);
  const int64_t width = counts.numel() > 0 ? counts.max().item<int64_t>() : 0;
  const int64_t batch = static_cast<int64_t>(keep_rows.size());
  const auto kv = FilledKeyValues(cache, config);
  const auto dtype = kv.empty() ? torch::kFloat32 : kv[0].first.scalar_type();
  auto out = std::make_unique<model::KvCache>(config, batch, width + extra_capacity,
                                              torch::TensorOptions().dtype(dtype).device(dev));
  if (width == 0) return out;
  // Valid slots first, in slot order (a stable sort of the inverted mask).
  const auto order = std::get<1>(valid.logical_not().to(torch::kInt).sort(/*stable=*/true, 1, false));
  const auto slots = order.narrow(1, 0, width);                              // [B', W]
  const auto new_valid = torch::arange(width, long_opts).unsqueeze(0) < counts.unsqueeze(1);
  const auto gather_index = slots.view({batch, 1, width, 1})
                                .expand({batch, config.num_kv_heads, width, config.head_dim});
  out->BeginStep(new_valid);
  for (int64_t l = 0; l < config.num_layers; ++l) {
    const auto k = kv[l].first.index_select(0, keep).gather(2, gather_index);
    const auto v = kv[l].second.index_select(0, keep).gather(2, gather_index);
    out->Update(l, k, v);
  }
  out->EndStep();
  return out;
}

}  // namespace brain::sampling
