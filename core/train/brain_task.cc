// BRAIn rounds: sample, score, cache, train on whole groups, refresh the proposal.
#include "core/train/brain_task.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "core/sampling/generator.h"
#include "core/train/sharded_causal_lm.h"
#include "distributed/agree_on_status.h"
#include "distributed/data_partition.h"

namespace brain::train {
namespace {

std::map<std::string, torch::Tensor> NamedTensors(model::CausalLm& lm) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : lm.named_parameters()) out[item.key()] = item.value();
  return out;
}

}  // namespace

BrainTask::BrainTask(const config::ExperimentConfig& config, distributed::Communicator& comm, std::string run_dir,
                     BrainModels models, std::vector<BrainPrompt> prompts, sampling::SamplingOptions sampling,
                     int64_t pad_id)
    : config_(config),
      comm_(comm),
      run_dir_(std::move(run_dir)),
      models_(std::move(models)),
      prompts_(std::move(prompts)),
      sampling_(std::move(sampling)),
      pad_id_(pad_id),
      n_(config.brain().num_samples()),
      sample_parallel_(config.brain().placement() == config::BrainConfig::SAMPLE_PARALLEL) {
  // GROUP_LOCAL: all of a group's samples; SAMPLE_PARALLEL: indices rank, rank + W, ... (strided, so the
  // samples are those one rank would draw: the seeds key on the sample index).
  for (int64_t i = sample_parallel_ ? comm.rank() : 0; i < n_; i += sample_parallel_ ? comm.size() : 1) {
    my_samples_.push_back(i);
  }
  CopyPolicyToProposal();
  if (config.distributed().sharding_stage() == 3) {
    prior_shards_ = distributed::ShardFrozen(*models_.prior, comm);
    reward_shards_ = distributed::ShardFrozen(*models_.reward, comm);
    proposal_shards_ = distributed::ShardFrozen(*models_.proposal, comm);
  }
}

void BrainTask::CopyPolicyToProposal() {
  // Every rank holds the whole policy here (stage 3 gathers it around EndRound).
  absl::Status status = SetProposal(NamedTensors(*models_.policy));
  TORCH_CHECK(status.ok(), "BRAIn proposal refresh: ", status.ToString());
}

absl::Status BrainTask::SetProposal(const std::map<std::string, torch::Tensor>& parameters) {
  if (proposal_shards_) return proposal_shards_->LoadFullParameters(parameters);
  torch::NoGradGuard no_grad;
  for (auto& item : models_.proposal->named_parameters()) item.value().copy_(parameters.at(item.key()));
  return absl::OkStatus();
}

int64_t BrainTask::UnitsPerRound() const {
  return std::min<int64_t>(config_.brain().prompts_per_round(), static_cast<int64_t>(prompts_.size()));
}

int64_t BrainTask::PromptOfSlot(int64_t round, int64_t slot) const {
  const int64_t count = static_cast<int64_t>(prompts_.size());
  const int64_t position = round * UnitsPerRound() + slot;
  const std::vector<int64_t> order =
      distributed::GlobalPermutation(count, config_.seed() ^ 0x9e3779b97f4a7c15ull, position / count);
  return order[position % count];
}

absl::StatusOr<int64_t> BrainTask::BeginRound(int64_t round, const std::vector<int64_t>& units) {
  const std::string path = SampleCachePath(run_dir_, round, comm_.rank(), comm_.size());
  auto cached = LoadRoundSamples(path);
  if (auto status = distributed::AgreeOnStatus(comm_, cached.status()); !status.ok()) return status;
  const bool hit = cached->has_value() && (*cached)->slots == units;
  // Sampling is collective at stage 3 (the frozen models are gathered), so when any rank lacks its
  // cache every rank samples again (the counter-based seeds reproduce the cached samples exactly).
  torch::Tensor missing = torch::tensor({hit ? 0.0 : 1.0}, torch::kDouble);
  comm_.AllReduce(missing, distributed::ReduceOp::kMax);
  if (missing.item<double>() == 0) {
    round_ = std::move(**cached);
  } else {
    auto drawn = SampleAndScore(round, units);
    absl::Status status = drawn.status();
    if (status.ok()) {
      round_ = std::move(*drawn);
      status = SaveRoundSamples(path, round_);
    }
    if (status = distributed::AgreeOnStatus(comm_, status); !status.ok()) return status;
  }
  slot_row_.clear();
  const int64_t per_group = static_cast<int64_t>(my_samples_.size());
  for (size_t i = 0; i < round_.slots.size(); ++i) slot_row_[round_.slots[i]] = static_cast<int64_t>(i) * per_group;
  ComputeRoundMetrics(round_);
  return UnitsPerRound();
}

absl::StatusOr<RoundSamples> BrainTask::SampleAndScore(int64_t round, const std::vector<int64_t>& units) {
  RoundSamples s;
  s.slots = units;
  if (units.empty()) return s;  // more ranks than the round's prompts: this rank trains on none
  std::vector<sampling::Prompt> requests;
  for (int64_t slot : units) {
    const int64_t p = PromptOfSlot(round, slot);
    s.prompt_index.push_back(p);
    // The id keys the counter-based seeds: the prompt qualified by its epoch, unique even in a round
    // that straddles two passes over the prompt set.
    const int64_t count = static_cast<int64_t>(prompts_.size());
    const int64_t epoch = (round * UnitsPerRound() + slot) / count;
    requests.push_back({p + epoch * count, prompts_[p].prompt});
  }
  sampling::GenerateOptions generate;
  generate.sampling = sampling_;
  generate.seed = {config_.seed(), round};
  generate.sample_indices = my_samples_;
  if (comm_.rank() == 0 && config_.logging().progress()) {
    generate.progress = [round](const sampling::GenerateProgress& p) {
      std::fprintf(stderr, "[align] round %lld: sampled %lld/%lld on rank 0 (%.0f tok/s)\n",
                   static_cast<long long>(round), static_cast<long long>(p.samples_done),
                   static_cast<long long>(p.samples_total), p.elapsed_s > 0 ? p.tokens / p.elapsed_s : 0.0);
    };
  }
  std::optional<PhaseTimers::Scope> sample_timer;
  if (timers_ != nullptr) sample_timer.emplace(timers_->Time("sample"));
  absl::StatusOr<std::vector<sampling::Sample>> drawn;
  {
    distributed::GatheredParameters gathered(proposal_shards_.get());
    drawn = sampling::GenerateSamples(*models_.proposal, requests, n_, generate);
  }
  if (!drawn.ok()) return drawn.status();
  sample_timer.reset();
  // GenerateSamples sorts by prompt id; put the samples back in slot order.
  std::map<int64_t, size_t> first_of_request;
  for (size_t i = 0; i < drawn->size(); ++i) first_of_request.emplace((*drawn)[i].prompt_id, i);
  std::vector<Tokens> sample_prompts, sample_responses;
  for (const auto& request : requests) {
    const size_t first = first_of_request.at(request.prompt_id);
    for (size_t i = 0; i < my_samples_.size(); ++i) {
      sampling::Sample& sample = (*drawn)[first + i];
      s.finish_reason.push_back(sample.finish_reason == sampling::FinishReason::kLength ? 1 : 0);
      s.proposal_logprobs.push_back(sample.logq);
      sample_prompts.push_back(request.token_ids);
      sample_responses.push_back(sample.token_ids);
      s.responses.push_back(std::move(sample.token_ids));
    }
  }
  // Score every sample: log p(y|x) under the prior and r(x, y) under the reward model.
  std::optional<PhaseTimers::Scope> score_timer;
  if (timers_ != nullptr) score_timer.emplace(timers_->Time("score"));
  const int64_t batch = std::max<int64_t>(1, sampling_.batch_size);
  {
    distributed::GatheredParameters gathered(prior_shards_.get());
    s.prior_logprobs = sampling::SequenceLogprobs(*models_.prior, sample_prompts, sample_responses, batch);
  }
  distributed::GatheredParameters gathered(reward_shards_.get());
  s.rewards = sampling::RewardScores(*models_.reward, sample_prompts, sample_responses, batch);
  if (config_.brain().likelihood() == config::BrainConfig::SIGMOID) {
    std::vector<Tokens> ref_prompts, ref_responses;
    for (size_t g = 0; g < units.size(); ++g) {
      const BrainPrompt& bp = prompts_[s.prompt_index[g]];
      if (!bp.reference) {
        return absl::InvalidArgumentError(absl::StrCat(
            "data.reference_field: brain.likelihood SIGMOID needs a reference response for every prompt; "
            "prompt #", s.prompt_index[g], " has none"));
      }
      ref_prompts.push_back(bp.prompt);
      ref_responses.push_back(*bp.reference);
    }
    const std::vector<double> ref = sampling::RewardScores(*models_.reward, ref_prompts, ref_responses, batch);
    for (size_t g = 0; g < units.size(); ++g) {
      for (size_t i = 0; i < my_samples_.size(); ++i) s.reference_rewards.push_back(ref[g]);
    }
  }
  return s;
}

void BrainTask::ComputeRoundMetrics(const RoundSamples& s) {
  // Sums over this rank's samples, then one SUM all-reduce: mean reward, KL estimate (log q' − log p of
  // the round's samples), mean response length, share truncated at max_new_tokens.
  double reward = 0, kl = 0, length = 0, truncated = 0;
  for (size_t i = 0; i < s.rewards.size(); ++i) {
    reward += s.rewards[i];
    kl += s.proposal_logprobs[i] - s.prior_logprobs[i];
    length += static_cast<double>(s.responses[i].size());
    truncated += s.finish_reason[i] == 1 ? 1 : 0;
  }
  torch::Tensor sums = torch::tensor({reward, kl, length, truncated, static_cast<double>(s.rewards.size())},
                                     torch::kDouble);
  comm_.AllReduce(sums, distributed::ReduceOp::kSum);
  const double count = std::max(1.0, sums[4].item<double>());
  round_metrics_ = {{"round_reward_mean", sums[0].item<double>() / count},
                    {"round_kl_estimate", sums[1].item<double>() / count},
                    {"round_response_length", sums[2].item<double>() / count},
                    {"round_truncated_share", sums[3].item<double>() / count}};
}

void BrainTask::EndRound(int64_t round) {
  const int64_t k = std::max(1, config_.brain().proposal_refresh_every());
  if ((round + 1) % k == 0) CopyPolicyToProposal();
}

void BrainTask::ForgetRoundsBefore(int64_t round) {
  if (comm_.rank() != 0) return;  // ranks share the run directory
  if (absl::Status status = PruneSampleCache(run_dir_, round); !status.ok()) {
    std::fprintf(stderr, "[align] warning: %s\n", status.ToString().c_str());
  }
}

TrainBatch BrainTask::MakeBatch(const std::vector<int64_t>& units) {
  std::vector<const Tokens*> prompts, responses;
  std::vector<int64_t> group_ids, sample_index;
  std::vector<double> prior, proposal, rewards, reference;
  const int64_t per_group = static_cast<int64_t>(my_samples_.size());
  for (size_t g = 0; g < units.size(); ++g) {
    const int64_t row = slot_row_.at(units[g]);
    const int64_t prompt = round_.prompt_index[row / per_group];
    for (int64_t i = 0; i < per_group; ++i) {
      prompts.push_back(&prompts_[prompt].prompt);
      responses.push_back(&round_.responses[row + i]);
      group_ids.push_back(static_cast<int64_t>(g));
      sample_index.push_back(my_samples_[i]);
      prior.push_back(round_.prior_logprobs[row + i]);
      proposal.push_back(round_.proposal_logprobs[row + i]);
      rewards.push_back(round_.rewards[row + i]);
      if (!round_.reference_rewards.empty()) reference.push_back(round_.reference_rewards[row + i]);
    }
  }
  TrainBatch batch;
  batch.units = units;
  PackSequences(prompts, responses, pad_id_, &batch);
  objectives::Batch& in = batch.inputs;
  in.group_ids = torch::tensor(group_ids, torch::kLong);
  in.num_groups = static_cast<int64_t>(units.size());
  in.sample_index = torch::tensor(sample_index, torch::kLong);
  in.prior_logprobs = torch::tensor(prior, torch::kDouble);
  in.proposal_logprobs = torch::tensor(proposal, torch::kDouble);
  in.rewards = torch::tensor(rewards, torch::kDouble);
  if (!reference.empty()) in.reference_rewards = torch::tensor(reference, torch::kDouble);
  return batch;
}

void BrainTask::Forward(TrainBatch& batch) {
  batch.inputs.token_logprobs = sampling::ResponseTokenLogprobs(*models_.policy, batch.packed);
}

std::map<std::string, torch::Tensor> BrainTask::ExtraModelTensors() {
  // With K = 1 the proposal at any round start is the policy, so it need not be saved.
  if (config_.brain().proposal_refresh_every() <= 1) return {};
  std::map<std::string, torch::Tensor> out;
  if (proposal_shards_) {
    for (auto& [name, tensor] : proposal_shards_->FullParameters()) out["proposal." + name] = std::move(tensor);
    return out;
  }
  for (const auto& item : models_.proposal->named_parameters()) out["proposal." + item.key()] = item.value();
  return out;
}

absl::Status BrainTask::RestoreExtraModelTensors(const std::map<std::string, torch::Tensor>& tensors) {
  if (config_.brain().proposal_refresh_every() <= 1) {
    CopyPolicyToProposal();
    return absl::OkStatus();
  }
  std::map<std::string, torch::Tensor> proposal;
  for (const auto& item : models_.proposal->named_parameters()) {
    auto it = tensors.find("proposal." + item.key());
    if (it == tensors.end()) {
      return absl::DataLossError(absl::StrCat("checkpoint: missing proposal tensor '", item.key(), "'"));
    }
    proposal[item.key()] = it->second;
  }
  return SetProposal(proposal);
}

}  // namespace brain::train
