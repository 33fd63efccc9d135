// BRAIn round caches as safetensors (ragged responses as a flat id tensor + offsets).
#include "core/train/sample_cache.h"

#include <torch/torch.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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

// The round of a directory named exactly "round_" + at least 6 digits; nullopt for any other name.
std::optional<int64_t> RoundOfDirectoryName(const std::string& name) {
  constexpr absl::string_view kPrefix = "round_";
  if (!absl::StartsWith(name, kPrefix)) return std::nullopt;
  const absl::string_view digits = absl::string_view(name).substr(kPrefix.size());
  if (digits.size() < 6 || digits.size() > 18) return std::nullopt;
  for (const char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  int64_t round = 0;
  if (!absl::SimpleAtoi(digits, &round)) return std::nullopt;
  return round;
}

bool Vanished(const std::error_code& error) { return error == std::errc::no_such_file_or_directory; }

// Removes `path` and everything below it; entries that vanish meanwhile (another rank pruning) are fine.
absl::Status RemoveTree(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status status = fs::symlink_status(path, error);
  if (error) {
    if (Vanished(error)) return absl::OkStatus();
    return absl::InternalError(absl::StrCat(path.string(), ": ", error.message()));
  }
  if (fs::is_directory(status)) {
    fs::directory_iterator it(path, error);
    if (error && !Vanished(error)) {
      return absl::InternalError(absl::StrCat(path.string(), ": cannot list: ", error.message()));
    }
    for (; !error && it != fs::directory_iterator(); it.increment(error)) {
      if (absl::Status s = RemoveTree(it->path()); !s.ok()) return s;
    }
    if (error && !Vanished(error)) {
      return absl::InternalError(absl::StrCat(path.string(), ": cannot list: ", error.message()));
    }
  }
  fs::remove(path, error);
  if (error && !Vanished(error)) {
    return absl::InternalError(absl::StrCat(path.string(), ": cannot remove: ", error.message()));
  }
  return absl::OkStatus();
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

absl::Status PruneSampleCache(const std::string& run_dir, int64_t keep_from_round) {
  namespace fs = std::filesystem;
  const fs::path samples = fs::path(run_dir) / "samples";
  std::error_code error;
  fs::directory_iterator it(samples, error);
  if (error) {
    if (Vanished(error)) return absl::OkStatus();
    return absl::InternalError(absl::StrCat(samples.string(), ": cannot list: ", error.message()));
  }
  std::vector<fs::path> doomed;
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    const std::optional<int64_t> round = RoundOfDirectoryName(it->path().filename().string());
    if (!round || *round >= keep_from_round) continue;
    std::error_code type_error;
    if (fs::is_directory(it->symlink_status(type_error))) doomed.push_back(it->path());
  }
  if (error && !Vanished(error)) {
    return absl::InternalError(absl::StrCat(samples.string(), ": cannot list: ", error.message()));
  }
  for (const fs::path& dir : doomed) {
    if (absl::Status s = RemoveTree(dir); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace brain::train
