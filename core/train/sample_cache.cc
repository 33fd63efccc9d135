// BRAIn round caches as safetensors (ragged responses as a flat id tensor + offsets).
#include "core/train/sample_cache.h"

#include <torch/torch.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/model/safetensors_io.h"

namespace brain::train {
namespace {

torch::Tensor Int64s(const std::vector<int64_t>& v) {
  return torch::tensor(v.empty() ? std::vector<int64_t>{} : v, torch::kLong).reshape({static_cast<int64_t>(v.size())});
}
torch::Tensor Doubles(const std::vector<double>& v) {
  return torch::tensor(v, torch::kDouble).reshape({static_cast<int64_t>(v.size())});
}
std::vector<int64_t> ToInt64s(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous().to(torch::kLong);
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}
std::vector<double> ToDoubles(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous().to(torch::kDouble);
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

}  // namespace

std::string SampleCachePath(const std::string& run_dir, int64_t round, int rank, int world_size) {
  return absl::StrFormat("%s/samples/round_%06d/rank_%05d_of_%05d.safetensors", run_dir, round, rank, world_size);
}

absl::Status SaveRoundSamples(const std::string& path, const RoundSamples& s) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  if (error) return absl::InternalError(absl::StrCat(path, ": cannot create its directory: ", error.message()));
  std::vector<int64_t> flat, offsets{0};
  for (const auto& r : s.responses) {
    flat.insert(flat.end(), r.begin(), r.end());
    offsets.push_back(static_cast<int64_t>(flat.size()));
  }
  model::TensorMap tensors{{"slots", Int64s(s.slots)},
                           {"prompt_index", Int64s(s.prompt_index)},
                           {"response_ids", Int64s(flat)},
                           {"response_offsets", Int64s(offsets)},
                           {"finish_reason", Int64s(s.finish_reason)},
                           {"proposal_logprobs", Doubles(s.proposal_logprobs)},
                           {"prior_logprobs", Doubles(s.prior_logprobs)},
                           {"rewards", Doubles(s.rewards)},
                           {"reference_rewards", Doubles(s.reference_rewards)}};
  return model::SaveSafetensors(path, tensors, {{"format", "brain-round-samples"}});
}

absl::StatusOr<std::optional<RoundSamples>> LoadRoundSamples(const std::string& path) {
  if (!std::filesystem::exists(path)) return std::optional<RoundSamples>();
  auto loaded = model::LoadSafetensors(path);
  if (!loaded.ok()) return loaded.status();
  for (const char* key : {"slots", "prompt_index", "response_ids", "response_offsets", "finish_reason",
                          "proposal_logprobs", "prior_logprobs", "rewards", "reference_rewards"}) {
    if (!loaded->count(key)) return absl::DataLossError(absl::StrCat(path, ": missing tensor '", key, "'"));
  }
  RoundSamples s;
  s.slots = ToInt64s(loaded->at("slots"));
  s.prompt_index = ToInt64s(loaded->at("prompt_index"));
  const std::vector<int64_t> flat = ToInt64s(loaded->at("response_ids"));
  const std::vector<int64_t> offsets = ToInt64s(loaded->at("response_offsets"));
  s.finish_reason = ToInt64s(loaded->at("finish_reason"));
  s.proposal_logprobs = ToDoubles(loaded->at("proposal_logprobs"));
  s.prior_logprobs = ToDoubles(loaded->at("prior_logprobs"));
  s.rewards = ToDoubles(loaded->at("rewards"));
  s.reference_rewards = ToDoubles(loaded->at("reference_rewards"));
  const size_t samples = s.rewards.size();
  const bool consistent = offsets.size() == samples + 1 && offsets.front() == 0 &&
                          offsets.back() == static_cast<int64_t>(flat.size()) &&
                          s.prompt_index.size() == s.slots.size() && s.finish_reason.size() == samples &&
                          s.proposal_logprobs.size() == samples && s.prior_logprobs.size() == samples &&
                          (s.reference_rewards.empty() || s.reference_rewards.size() == samples) &&
                          (s.slots.empty() || samples % s.slots.size() == 0);
  if (!consistent) return absl::DataLossError(absl::StrCat(path, ": inconsistent sample cache (sizes disagree)"));
  for (size_t i = 0; i < samples; ++i) {
    if (offsets[i + 1] < offsets[i]) return absl::DataLossError(absl::StrCat(path, ": decreasing response offsets"));
    s.responses.emplace_back(flat.begin() + offsets[i], flat.begin() + offsets[i + 1]);
  }
  return std::optional<RoundSamples>(std::move(s));
}

}  // namespace brain::train
