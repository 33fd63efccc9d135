// SamplingOptions: how tokens are drawn (temperature, top-k, top-p, lengths, stops) and its config converter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace brain::config {
class SamplingConfig;
}  // namespace brain::config

namespace brain::sampling {

struct SamplingOptions {
  double temperature = 1.0;    // 0 = greedy (argmax; every drawn token has logq 0)
  int64_t top_k = 0;           // 0 = off; else keep the k largest logits (ties at the k-th kept)
  double top_p = 1.0;          // 1 = off; else keep the smallest top set with mass >= top_p
  int64_t max_new_tokens = 128;
  int64_t min_new_tokens = 0;  // stop tokens are masked out (probability 0) before this many tokens
  std::vector<int64_t> stop_token_ids;   // EOS ids of the model are added by the generator
  std::vector<std::string> stop_strings; // need a tokenizer (GenerateOptions::tokenizer)
  int64_t batch_size = 32;               // rows decoded together
  // Continuous batching: finished rows are refilled from the queue once at least this fraction of the
  // rows is free (or none is active); 0 refills after every step, 1 gives static batching.
  double refill_fraction = 0.125;
};

// Checks ranges: temperature >= 0, top_k >= 0, 0 < top_p <= 1, max_new_tokens >= 1,
// 0 <= min_new_tokens <= max_new_tokens, batch_size >= 1, refill_fraction in [0, 1].
absl::Status ValidateSamplingOptions(const SamplingOptions& options);

// From the config proto (brain.config.SamplingConfig), validated; errors name the field.
absl::StatusOr<SamplingOptions> SamplingOptionsFromConfig(const config::SamplingConfig& config);

}  // namespace brain::sampling
