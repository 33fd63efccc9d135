// The sequence budget of a run: config-time rule (from config validation) plus the model's positions.
#include "core/train/sequence_budget.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config/config_validation.h"

namespace brain::train {

absl::Status CheckSequenceBudget(const config::ExperimentConfig& config, int64_t model_max_positions) {
  std::vector<std::string> problems;
  // The config-time rule lives in ValidateConfig (one source of truth); its issues on models.max_seq_len are
  // the budget ones. A config loaded by LoadConfigFile has passed them already; a programmatic one may not.
  for (const config::ConfigIssue& issue : config::ValidateConfig(config)) {
    if (issue.field_path == "models.max_seq_len") problems.push_back(issue.message);
  }
  const int64_t max_seq_len = config.models().max_seq_len();
  if (model_max_positions < 1) {
    problems.push_back(absl::StrCat("the policy model declares ", model_max_positions,
                                    " positions (n_positions / max_position_embeddings): must be >= 1"));
  } else if (max_seq_len > model_max_positions) {
    problems.push_back(absl::StrCat("models.max_seq_len (", max_seq_len, ") exceeds the policy model's ",
                                    model_max_positions, " positions (n_positions / max_position_embeddings)"));
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("models.max_seq_len: ", absl::StrJoin(problems, "; ")));
}

}  // namespace brain::train
