// SampleCache: one BRAIn round's samples and scores on disk, per rank, so a resumed run never resamples.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace brain::train {

// The samples of one rank in one round, group by group (n consecutive samples per slot).
struct RoundSamples {
  std::vector<int64_t> slots;                  // the round's slots (groups) this rank holds, in order
  std::vector<int64_t> prompt_index;           // per slot
  std::vector<std::vector<int64_t>> responses; // per sample (slot-major): response ids (EOS included)
  std::vector<int64_t> finish_reason;          // per sample: 0 eos/stop, 1 length
  std::vector<double> proposal_logprobs;       // log q'(y) of the exact sampling distribution
  std::vector<double> prior_logprobs;          // log p(y)
  std::vector<double> rewards;                 // r(x, y)
  std::vector<double> reference_rewards;       // r(x, y_ref) per sample (SIGMOID likelihood), or empty
};

// run_dir/samples/round_RRRRRR/rank_KKKKK_of_WWWWW.safetensors (written atomically).
std::string SampleCachePath(const std::string& run_dir, int64_t round, int rank, int world_size);
absl::Status SaveRoundSamples(const std::string& path, const RoundSamples& samples);
// nullopt when the file does not exist; an error (naming the file) when it exists but is unreadable or
// inconsistent.
absl::StatusOr<std::optional<RoundSamples>> LoadRoundSamples(const std::string& path);

// Removes every run_dir/samples/round_RRRRRR directory (exactly "round_" and 6 or more digits) whose round
// is < keep_from_round; other entries are left alone. A missing samples/ directory, or an entry another rank
// removed first (ENOENT), is not an error; any other failure is an error naming the path.
absl::Status PruneSampleCache(const std::string& run_dir, int64_t keep_from_round);

}  // namespace brain::train
