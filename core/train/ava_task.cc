// AVA training task.
#include "core/train/ava_task.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "core/model/safetensors_io.h"
#include "kernels/weighted_token_logprobs.h"

namespace brain::train {
namespace {

constexpr char kHeadPrefix[] = "ava_reward_head.";
constexpr char kQHeadKey[] = "ava_q_head.weight";

}  // namespace

AvaTask::AvaTask(const config::AvaConfig& config, std::shared_ptr<model::CausalLm> policy,
                 std::vector<Demonstration> demonstrations, std::vector<PreferencePair> pairs, int64_t pad_id,
                 uint64_t seed)
    : config_(config),
      policy_(std::move(policy)),
      head_(policy_->config().hidden_size),
      demonstrations_(std::move(demonstrations)),
      pairs_(std::move(pairs)),
      pad_id_(pad_id) {
  const torch::Tensor lm_head = policy_->LmHeadWeight();
  head_->to(lm_head.scalar_type());
  if (config_.q_form() == config::AvaConfig::FRESH_HEAD) {
    // Drawn on the CPU from the run seed (the same head on every rank), then placed like the LM head.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x51f15e5d0a7aull);
    torch::Tensor init = torch::empty(lm_head.sizes(), torch::kFloat32);
    init.normal_(0.0, 0.02, gen);
    q_head_ = init.to(lm_head.options()).set_requires_grad(true);
  }
}

int64_t AvaTask::UnitsPerRound() const {
  return static_cast<int64_t>(Pairwise() ? pairs_.size() : demonstrations_.size());
}

bool AvaTask::Weighted() const {
  return config_.reward_weights() == config::AvaConfig::MU || config_.reward_weights() == config::AvaConfig::MU_AND_Q;
}

TrainBatch AvaTask::MakeBatch(const std::vector<int64_t>& units) {
  TrainBatch batch;
  if (Pairwise()) {
    batch = PackPairs(pairs_, units, pad_id_);
  } else {
    std::vector<const Tokens*> prompts, responses;
    for (int64_t u : units) {
      prompts.push_back(&demonstrations_[u].prompt);
      responses.push_back(&demonstrations_[u].response);
    }
    batch.units = units;
    PackSequences(prompts, responses, pad_id_, &batch);
  }
  // Transitions are indexed by the position that predicts y_t (where Q_t is read); y_t itself sits one
  // position later, where NEXT_STATE reads the reward head.
  objectives::Batch& in = batch.inputs;
  const torch::Tensor& ids = batch.packed.input_ids;
  const int64_t rows = ids.size(0), length = ids.size(1);
  in.response_positions =
      (torch::arange(length, torch::kLong) + 1).clamp_max(length - 1).unsqueeze(0).expand({rows, length}).contiguous();
  in.attention_mask = batch.packed.attention_mask;
  in.q_values = torch::zeros({rows, length}, torch::kFloat);
  in.reward_mu = torch::zeros({rows, length}, torch::kFloat);
  in.reward_log_sigma = torch::zeros({rows, length}, torch::kFloat);
  if (Weighted()) in.reward_weights = torch::full({rows, length}, 1.0 / static_cast<double>(length));
  in.token_logprobs = torch::Tensor();
  return batch;
}

void AvaTask::Forward(TrainBatch& batch) {
  const sampling::PackedSequences& p = batch.packed;
  model::ForwardOptions options;
  options.attention_weights = Weighted();
  model::ForwardOutput out = policy_->Forward(p.input_ids, p.attention_mask, options);
  const int64_t rows = p.input_ids.size(0), length = p.input_ids.size(1);
  objectives::Batch& in = batch.inputs;
  if (config_.q_form() == config::AvaConfig::PROB_LITERAL) {
    // Q = log_softmax(α·π): needs the full probabilities, so the logits are materialised here.
    in.q_values = torch::Tensor();
    in.q_logits = policy_->Logits(out.hidden);
    in.target_ids = p.targets.clamp_min(0);
  } else {
    // TEMPERED_LOGPROB (FRESH_HEAD: the same on the fresh head's logits): log_softmax(α·logits)[y] = the
    // fused kernel on α-scaled hidden states.
    const torch::Tensor hidden = out.hidden.reshape({rows * length, -1}) * config_.alpha();
    const torch::Tensor q_head = q_head_.defined() ? q_head_ : policy_->LmHeadWeight();
    in.q_values =
        kernels::WeightedTokenLogprobs(hidden, q_head, p.targets.reshape({-1})).logprob.reshape({rows, length});
  }
  model::AvaRewardOutput reward = head_->forward(out.hidden);
  in.reward_mu = reward.mu;
  in.reward_log_sigma = reward.log_sigma;
  if (Weighted()) in.reward_weights = out.attention_weights;
}

std::vector<torch::Tensor> AvaTask::ExtraTrainedParameters() {
  std::vector<torch::Tensor> out = head_->parameters();
  if (q_head_.defined()) out.push_back(q_head_);
  return out;
}

std::map<std::string, torch::Tensor> AvaTask::ExtraModelTensors() {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : head_->named_parameters()) out[kHeadPrefix + item.key()] = item.value();
  if (q_head_.defined()) out[kQHeadKey] = q_head_;
  return out;
}

absl::Status AvaTask::RestoreExtraModelTensors(const std::map<std::string, torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (auto& item : head_->named_parameters()) {
    auto it = tensors.find(kHeadPrefix + item.key());
    if (it == tensors.end()) {
      return absl::DataLossError(absl::StrCat("checkpoint: missing AVA reward head tensor '", item.key(), "'"));
    }
    item.value().copy_(it->second);
  }
  if (q_head_.defined()) {
    auto it = tensors.find(kQHeadKey);
    if (it == tensors.end()) return absl::DataLossError("checkpoint: missing the AVA FRESH_HEAD Q head 'ava_q_head.weight'");
    if (it->second.sizes() != q_head_.sizes()) {
      return absl::DataLossError(absl::StrCat("checkpoint: 'ava_q_head.weight' has shape ",
                                              c10::str(it->second.sizes()), ", the model needs ",
                                              c10::str(q_head_.sizes())));
    }
    q_head_.copy_(it->second);
  }
  return absl::OkStatus();
}

absl::Status AvaTask::ExportExtras(const std::string& dir) {
  model::TensorMap tensors;
  for (const auto& item : head_->named_parameters()) tensors[item.key()] = item.value().detach();
  if (auto status = model::SaveSafetensors(dir + "/ava_reward_head.safetensors", tensors); !status.ok()) {
    return status;
  }
  if (!q_head_.defined()) return absl::OkStatus();
  return model::SaveSafetensors(dir + "/ava_q_head.safetensors", {{"weight", q_head_.detach()}});
}

}  // namespace brain::train
