// SamplingOptions validation and conversion from SamplingConfig.
#include "core/sampling/sampling_options.h"

#include "absl/strings/str_cat.h"
#include "proto/config.pb.h"

namespace brain::sampling {

absl::Status ValidateSamplingOptions(const SamplingOptions& o) {
  auto bad = [](const char* field, const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("sampling.", field, ": ", why));
  };
  if (!(o.temperature >= 0)) return bad("temperature", absl::StrCat("must be >= 0 (got ", o.temperature, ")"));
  if (o.top_k < 0) return bad("top_k", absl::StrCat("must be >= 0 (got ", o.top_k, ")"));
  if (!(o.top_p > 0 && o.top_p <= 1)) return bad("top_p", absl::StrCat("must be in (0, 1] (got ", o.top_p, ")"));
  if (o.max_new_tokens < 1) {
    return bad("max_new_tokens", absl::StrCat("must be >= 1 (got ", o.max_new_tokens, ")"));
  }
  if (o.min_new_tokens < 0 || o.min_new_tokens > o.max_new_tokens) {
    return bad("min_new_tokens", absl::StrCat("must be in [0, max_new_tokens] (got ", o.min_new_tokens, ")"));
  }
  if (o.batch_size < 1) return bad("batch_size", absl::StrCat("must be >= 1 (got ", o.batch_size, ")"));
  if (!(o.refill_fraction >= 0 && o.refill_fraction <= 1)) {
    return bad("refill_fraction", absl::StrCat("must be in [0, 1] (got ", o.refill_fraction, ")"));
  }
  for (const auto& s : o.stop_strings) {
    if (s.empty()) return bad("stop_strings", "empty stop string");
  }
  return absl::OkStatus();
}

absl::StatusOr<SamplingOptions> SamplingOptionsFromConfig(const config::SamplingConfig& c) {
  SamplingOptions o;
  o.temperature = c.temperature();
  o.top_k = c.top_k();
  o.top_p = c.top_p();
  o.max_new_tokens = c.max_new_tokens();
  o.min_new_tokens = c.min_new_tokens();
  o.batch_size = c.batch_size();
  for (const auto& s : c.stop_strings()) o.stop_strings.push_back(s);
  for (const int32_t id : c.stop_token_ids()) o.stop_token_ids.push_back(id);
  if (auto status = ValidateSamplingOptions(o); !status.ok()) return status;
  return o;
}

}  // namespace brain::sampling
