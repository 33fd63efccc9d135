// Policy evaluation against a reference policy.
#include "core/eval/policy_eval.h"

#include <torch/torch.h>

#include "core/sampling/generator.h"
#include "distributed/agree_on_status.h"
#include "distributed/data_partition.h"

namespace brain::eval {
namespace {

// One sample per prompt (or n), in prompt order. `stream` separates the policy's and the reference's
// randomness (it is the round of the seed context).
absl::StatusOr<std::vector<sampling::Sample>> Draw(model::CausalLm& model, const std::vector<EvalPrompt>& prompts,
                                                   int64_t n, const EvalOptions& options, int64_t stream) {
  std::vector<sampling::Prompt> requests;
  for (const auto& p : prompts) requests.push_back({p.id, p.tokens});
  sampling::GenerateOptions generate;
  generate.sampling = options.sampling;
  generate.seed = {options.seed, stream};
  if (requests.empty()) return std::vector<sampling::Sample>{};
  return sampling::GenerateSamples(model, requests, n, generate);
}

}  // namespace

std::map<std::string, double> EvalResult::AsMap() const {
  std::map<std::string, double> out{{"prompts", static_cast<double>(prompts)},
                                    {"reward_mean", reward_mean},
                                    {"reference_reward_mean", reference_reward_mean},
                                    {"win_rate", win_rate},
                                    {"wins", wins},
                                    {"ties", ties},
                                    {"losses", losses},
                                    {"kl_estimate", kl_estimate},
                                    {"response_length", response_length},
                                    {"reference_response_length", reference_response_length}};
  if (best_of_n_reward_mean != 0 || best_of_n_win_rate != 0) {
    out["best_of_n_reward_mean"] = best_of_n_reward_mean;
    out["best_of_n_win_rate"] = best_of_n_win_rate;
  }
  return out;
}

absl::StatusOr<EvalResult> EvaluatePolicy(model::CausalLm& policy, model::CausalLm& reference, model::CausalLm& prior,
                                          const std::vector<EvalPrompt>& prompts, const RewardFn& judge,
                                          const EvalOptions& options, distributed::Communicator& comm,
                                          const RewardFn& select) {
  c10::InferenceMode inference;
  // This rank's prompts: a strided share of the prompt list.
  std::vector<int64_t> order(prompts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::vector<EvalPrompt> mine;
  for (int64_t i : distributed::RankShare(order, comm.rank(), comm.size())) mine.push_back(prompts[i]);

  // Each draw is rank-local and can fail on one rank only (e.g. a prompt too long for the model); agree
  // before the next collective so that every rank returns instead of waiting for the failed one.
  auto ours = Draw(policy, mine, 1, options, 0);
  if (auto status = distributed::AgreeOnStatus(comm, ours.status()); !status.ok()) return status;
  auto theirs = Draw(reference, mine, 1, options, 1);
  if (auto status = distributed::AgreeOnStatus(comm, theirs.status()); !status.ok()) return status;
  std::vector<TokenIds> prompt_ids, policy_responses, reference_responses;
  for (size_t i = 0; i < mine.size(); ++i) {
    prompt_ids.push_back(mine[i].tokens);
    policy_responses.push_back((*ours)[i].token_ids);
    reference_responses.push_back((*theirs)[i].token_ids);
  }
  const std::vector<double> r_policy = judge(prompt_ids, policy_responses);
  const std::vector<double> r_reference = judge(prompt_ids, reference_responses);
  const std::vector<double> logp_policy =
      sampling::SequenceLogprobs(policy, prompt_ids, policy_responses, options.score_batch_size);
  const std::vector<double> logp_prior =
      sampling::SequenceLogprobs(prior, prompt_ids, policy_responses, options.score_batch_size);

  // Sums: reward, reference reward, wins, ties, kl, lengths, best-of-n reward, best-of-n wins, count.
  std::vector<double> sums(10, 0.0);
  for (size_t i = 0; i < mine.size(); ++i) {
    sums[0] += r_policy[i];
    sums[1] += r_reference[i];
    sums[2] += r_policy[i] > r_reference[i] ? 1 : 0;
    sums[3] += r_policy[i] == r_reference[i] ? 1 : 0;
    sums[4] += logp_policy[i] - logp_prior[i];
    sums[5] += static_cast<double>(policy_responses[i].size());
    sums[6] += static_cast<double>(reference_responses[i].size());
    sums[9] += 1;
  }
  if (options.best_of_n > 0) {
    auto many = Draw(policy, mine, options.best_of_n, options, 2);  // empty when this rank has no prompts
    if (auto status = distributed::AgreeOnStatus(comm, many.status()); !status.ok()) return status;
    std::vector<TokenIds> many_prompts, many_responses;
    for (const auto& s : *many) {
      many_responses.push_back(s.token_ids);
      many_prompts.push_back(mine[(&s - many->data()) / options.best_of_n].tokens);
    }
    const std::vector<double> scores = (select ? select : judge)(many_prompts, many_responses);
    const std::vector<double> gold = judge(many_prompts, many_responses);
    for (size_t i = 0; i < mine.size(); ++i) {
      size_t best = i * options.best_of_n;
      for (int64_t k = 1; k < options.best_of_n; ++k) {
        if (scores[i * options.best_of_n + k] > scores[best]) best = i * options.best_of_n + k;
      }
      sums[7] += gold[best];
      sums[8] += gold[best] > r_reference[i] ? 1.0 : (gold[best] == r_reference[i] ? 0.5 : 0.0);
    }
  }
  torch::Tensor reduced = torch::tensor(sums, torch::kDouble);
  comm.AllReduce(reduced, distributed::ReduceOp::kSum);
  const auto* s = reduced.data_ptr<double>();
  EvalResult result;
  const double count = std::max(1.0, s[9]);
  result.prompts = static_cast<int64_t>(s[9]);
  result.reward_mean = s[0] / count;
  result.reference_reward_mean = s[1] / count;
  result.wins = s[2] / count;
  result.ties = s[3] / count;
  result.losses = 1.0 - result.wins - result.ties;
  result.win_rate = result.wins + 0.5 * result.ties;
  result.kl_estimate = s[4] / count;
  result.response_length = s[5] / count;
  result.reference_response_length = s[6] / count;
  if (options.best_of_n > 0) {
    result.best_of_n_reward_mean = s[7] / count;
    result.best_of_n_win_rate = s[8] / count;
  }
  return result;
}

RewardFn RewardModelFn(model::CausalLm& reward_model, int64_t batch_size) {
  return [&reward_model, batch_size](const std::vector<TokenIds>& prompts, const std::vector<TokenIds>& responses) {
    return sampling::RewardScores(reward_model, prompts, responses, batch_size);
  };
}

}  // namespace brain::eval
