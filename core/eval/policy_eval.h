// EvaluatePolicy: a policy against a reference policy on a prompt set (spec §5) — mean reward, win rate
// (ties half), KL estimate to the SFT prior, response length, and best-of-n.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/causal_lm.h"
#include "core/sampling/sampling_options.h"
#include "core/sampling/teacher_forcing.h"
#include "distributed/communicator.h"

namespace brain::eval {

using sampling::TokenIds;

// Scores responses to prompts (a reward model, or the demo's hidden gold reward).
using RewardFn = std::function<std::vector<double>(const std::vector<TokenIds>& prompts,
                                                   const std::vector<TokenIds>& responses)>;

struct EvalPrompt {
  int64_t id = 0;  // keys the sampling seeds
  TokenIds tokens;
};

struct EvalOptions {
  sampling::SamplingOptions sampling;  // KL needs temperature 1 and no truncation to be unbiased
  uint64_t seed = 0;
  int64_t best_of_n = 0;  // 0 = skip; else n policy samples per prompt, the one `select` scores highest
  int64_t score_batch_size = 16;
};

struct EvalResult {
  int64_t prompts = 0;
  double reward_mean = 0, reference_reward_mean = 0;
  double win_rate = 0, wins = 0, ties = 0, losses = 0;  // shares of prompts
  double kl_estimate = 0;                                 // mean log π(y) − log p_sft(y) over policy samples
  double response_length = 0, reference_response_length = 0;
  double best_of_n_reward_mean = 0, best_of_n_win_rate = 0;  // when best_of_n > 0
  std::map<std::string, double> AsMap() const;
};

// Collective: prompts are split over the ranks of `comm` and the sums all-reduced, so every rank returns
// the same result. One sample per prompt from `policy` and from `reference` (seeds from (seed, prompt id),
// different streams for the two), judged by `judge`; `select` (default: judge) picks best-of-n.
absl::StatusOr<EvalResult> EvaluatePolicy(model::CausalLm& policy, model::CausalLm& reference, model::CausalLm& prior,
                                          const std::vector<EvalPrompt>& prompts, const RewardFn& judge,
                                          const EvalOptions& options, distributed::Communicator& comm,
                                          const RewardFn& select = nullptr);

// A RewardFn from a sequence-classification reward model.
RewardFn RewardModelFn(model::CausalLm& reward_model, int64_t batch_size);

}  // namespace brain::eval
