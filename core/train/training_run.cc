// A whole training run: setup, tasks per algorithm, trainer, export.
#include "core/train/training_run.h"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/config/config_resolve.h"
#include "core/data/datasets.h"
#include "core/objectives/registry.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/ava_task.h"
#include "core/train/brain_task.h"
#include "core/train/hf_export.h"
#include "core/train/model_source.h"
#include "core/train/preference_tasks.h"
#include "core/train/run_directory.h"
#include "core/train/sequence_budget.h"
#include "core/train/sft_task.h"
#include "distributed/agree_on_status.h"

namespace brain::train {
namespace {

Tokens ToTokens(const std::vector<int32_t>& ids) { return Tokens(ids.begin(), ids.end()); }

void Freeze(model::CausalLm& model) {
  model.eval();
  for (auto& p : model.parameters()) p.set_requires_grad(false);
}

torch::Dtype ParamDtype(const config::ExperimentConfig& config) {
  return config.models().dtype() == config::BFLOAT16 ? torch::kBFloat16 : torch::kFloat32;
}

template <typename Example>
absl::Status RequireExamples(const data::Dataset<Example>& dataset, const std::string& path) {
  if (!dataset.examples.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("data.train_path: ", path, ": no usable examples (",
                                                 dataset.report.skipped, " bad lines skipped)"));
}

template <typename Example>
void ReportSkipped(const data::Dataset<Example>& dataset, const std::string& path, int rank) {
  if (rank != 0 || dataset.report.skipped == 0) return;
  std::fprintf(stderr, "[data] %s: skipped %lld bad lines (data.bad_lines = SKIP_AND_COUNT)\n", path.c_str(),
               static_cast<long long>(dataset.report.skipped));
  for (const auto& message : dataset.report.messages) std::fprintf(stderr, "[data]   %s\n", message.c_str());
}

// Everything a task needs that every algorithm builds the same way.
struct Setup {
  const config::ExperimentConfig& config;
  distributed::Communicator& comm;
  const tokenizer::Tokenizer& tokenizer;
  std::string run_dir;
  int64_t pad_id;

  absl::StatusOr<std::shared_ptr<model::CausalLm>> Model(const config::ModelSource& source, const std::string& field,
                                                         model::HeadKind head, bool frozen) const {
    ModelSourceOptions options;
    options.head = head;
    options.vocab_size = tokenizer.vocab_size();
    options.seed = config.seed();
    auto built = BuildModel(source, field, options);
    if (!built.ok()) return built.status();
    if (field == "models.policy" && !frozen) {
      // The policy's position table bounds every sequence the run builds.
      if (auto status = CheckSequenceBudget(config, (*built)->config().max_positions); !status.ok()) return status;
    }
    (*built)->to(ParamDtype(config));
    if (frozen) Freeze(**built);
    return built;
  }
  const config::ModelSource& Reference() const {
    return config.models().has_reference() ? config.models().reference() : config.models().policy();
  }
};

absl::StatusOr<std::unique_ptr<TrainingTask>> CreateTask(const Setup& s) {
  const config::ExperimentConfig& c = s.config;
  const std::string& path = c.data().train_path();
  if (path.empty()) return absl::InvalidArgumentError("data.train_path: required (a JSONL file)");
  switch (c.algorithm_case()) {
    case config::ExperimentConfig::kSft: {
      auto data = data::ReadDemonstrations(path, c.data(), s.tokenizer);
      if (!data.ok()) return data.status();
      ReportSkipped(*data, path, s.comm.rank());
      if (auto status = RequireExamples(*data, path); !status.ok()) return status;
      auto policy = s.Model(c.models().policy(), "models.policy", model::HeadKind::kLanguageModel, false);
      if (!policy.ok()) return policy.status();
      std::vector<Demonstration> examples;
      for (const auto& e : data->examples) examples.push_back({ToTokens(e.prompt_ids), ToTokens(e.response_ids)});
      return std::unique_ptr<TrainingTask>(new SftTask(*policy, std::move(examples), s.pad_id));
    }
    case config::ExperimentConfig::kRewardModel:
    case config::ExperimentConfig::kDpo: {
      auto data = data::ReadPreferences(path, c.data(), s.tokenizer);
      if (!data.ok()) return data.status();
      ReportSkipped(*data, path, s.comm.rank());
      if (auto status = RequireExamples(*data, path); !status.ok()) return status;
      std::vector<PreferencePair> pairs;
      for (const auto& e : data->examples) {
        pairs.push_back({ToTokens(e.prompt_ids), ToTokens(e.chosen_ids), ToTokens(e.rejected_ids), e.margin});
      }
      if (c.has_reward_model()) {
        auto rm = s.Model(c.models().policy(), "models.policy", model::HeadKind::kSequenceClassification, false);
        if (!rm.ok()) return rm.status();
        return std::unique_ptr<TrainingTask>(new RewardModelTask(*rm, std::move(pairs), s.pad_id));
      }
      auto policy = s.Model(c.models().policy(), "models.policy", model::HeadKind::kLanguageModel, false);
      if (!policy.ok()) return policy.status();
      auto reference = s.Model(s.Reference(), "models.reference", model::HeadKind::kLanguageModel, true);
      if (!reference.ok()) return reference.status();
      distributed::Communicator* stage3 = c.distributed().sharding_stage() == 3 ? &s.comm : nullptr;
      return std::unique_ptr<TrainingTask>(new DpoTask(*policy, *reference, std::move(pairs), s.pad_id, stage3));
    }
    case config::ExperimentConfig::kBrain: {
      if (c.brain().placement() == config::BrainConfig::SAMPLE_PARALLEL && c.brain().num_samples() < s.comm.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "brain.placement: SAMPLE_PARALLEL spreads each prompt's brain.num_samples = ", c.brain().num_samples(),
            " samples over the ranks, so it needs at least one per rank (", s.comm.size(),
            " ranks); use GROUP_LOCAL or more samples"));
      }
      auto data = data::ReadPrompts(path, c.data(), s.tokenizer);
      if (!data.ok()) return data.status();
      ReportSkipped(*data, path, s.comm.rank());
      if (auto status = RequireExamples(*data, path); !status.ok()) return status;
      std::vector<BrainPrompt> prompts;
      for (const auto& e : data->examples) {
        std::optional<Tokens> reference;
        if (e.reference_ids) reference = ToTokens(*e.reference_ids);
        prompts.push_back({ToTokens(e.prompt_ids), std::move(reference)});
      }
      BrainModels models;
      auto policy = s.Model(c.models().policy(), "models.policy", model::HeadKind::kLanguageModel, false);
      if (!policy.ok()) return policy.status();
      auto prior = s.Model(s.Reference(), "models.reference", model::HeadKind::kLanguageModel, true);
      if (!prior.ok()) return prior.status();
      auto reward = s.Model(c.models().reward(), "models.reward", model::HeadKind::kSequenceClassification, true);
      if (!reward.ok()) return reward.status();
      auto proposal = s.Model(c.models().policy(), "models.policy", model::HeadKind::kLanguageModel, true);
      if (!proposal.ok()) return proposal.status();
      models = {*policy, *prior, *reward, *proposal};
      auto sampling = sampling::SamplingOptionsFromConfig(c.sampling());
      if (!sampling.ok()) return sampling.status();
      return std::unique_ptr<TrainingTask>(
          new BrainTask(c, s.comm, s.run_dir, std::move(models), std::move(prompts), *sampling, s.pad_id));
    }
    case config::ExperimentConfig::kAva: {
      auto policy = s.Model(c.models().policy(), "models.policy", model::HeadKind::kLanguageModel, false);
      if (!policy.ok()) return policy.status();
      std::vector<Demonstration> demonstrations;
      std::vector<PreferencePair> pairs;
      if (c.ava().mode() == config::AvaConfig::AVA_D) {
        auto data = data::ReadDemonstrations(path, c.data(), s.tokenizer);
        if (!data.ok()) return data.status();
        ReportSkipped(*data, path, s.comm.rank());
        if (auto status = RequireExamples(*data, path); !status.ok()) return status;
        for (const auto& e : data->examples) {
          demonstrations.push_back({ToTokens(e.prompt_ids), ToTokens(e.response_ids)});
        }
      } else {
        auto data = data::ReadPreferences(path, c.data(), s.tokenizer);
        if (!data.ok()) return data.status();
        ReportSkipped(*data, path, s.comm.rank());
        if (auto status = RequireExamples(*data, path); !status.ok()) return status;
        for (const auto& e : data->examples) {
          pairs.push_back({ToTokens(e.prompt_ids), ToTokens(e.chosen_ids), ToTokens(e.rejected_ids), e.margin});
        }
      }
      return std::unique_ptr<TrainingTask>(
          new AvaTask(c.ava(), *policy, std::move(demonstrations), std::move(pairs), s.pad_id, c.seed()));
    }
    default:
      return absl::InvalidArgumentError("algorithm: no algorithm chosen");
  }
}

}  // namespace

absl::StatusOr<TrainingRunOutcome> RunTraining(const config::ExperimentConfig& config, distributed::Communicator& comm,
                                               const TrainingRunOptions& options) {
  const std::string run_dir = config.output_dir();
  if (auto status = distributed::AgreeOnStatus(comm, comm.rank() == 0 ? PrepareRunDirectory(config) : absl::OkStatus());
      !status.ok()) {
    return status;
  }
  const std::string tokenizer_dir = TokenizerDirectory(config);
  if (tokenizer_dir.empty()) {
    return absl::InvalidArgumentError("models.tokenizer: set a tokenizer directory (a preset policy has none)");
  }
  auto tokenizer = tokenizer::Tokenizer::FromDirectory(tokenizer_dir);
  if (!tokenizer.ok()) return tokenizer.status();
  if (!(*tokenizer)->eos_id()) {
    return absl::FailedPreconditionError(absl::StrCat(tokenizer_dir, ": the tokenizer names no EOS token"));
  }
  const int64_t pad_id = (*tokenizer)->pad_id().value_or(*(*tokenizer)->eos_id());
  torch::manual_seed(config.seed());
  Setup setup{config, comm, **tokenizer, run_dir, pad_id};
  auto task = CreateTask(setup);
  if (auto status = distributed::AgreeOnStatus(comm, task.status()); !status.ok()) return status;
  auto objective = objectives::CreateObjective(config);
  if (!objective.ok()) return objective.status();

  TrainerOptions trainer_options;
  trainer_options.run_dir = run_dir;
  trainer_options.stop_after_steps = options.stop_after_steps;
  switch (config.algorithm_case()) {
    case config::ExperimentConfig::kSft: trainer_options.label = "sft"; break;
    case config::ExperimentConfig::kRewardModel: trainer_options.label = "rm"; break;
    case config::ExperimentConfig::kDpo: trainer_options.label = "dpo"; break;
    case config::ExperimentConfig::kAva: trainer_options.label = "ava"; break;
    case config::ExperimentConfig::kBrain:
      trainer_options.label = "align";
      trainer_options.rounds = config.brain().num_rounds();
      trainer_options.steps_per_round = config.brain().steps_per_round();
      break;
    default: break;
  }
  auto result = RunTrainer(config, comm, **task, **objective, trainer_options);
  if (!result.ok()) return result.status();
  TrainingRunOutcome outcome;
  outcome.trainer = *result;
  if (!result->preempted) {
    outcome.export_dir = run_dir + "/export";
    absl::Status exported = absl::OkStatus();
    if (comm.rank() == 0) {
      exported = ExportHfDirectory((*task)->trained_model(), tokenizer_dir, outcome.export_dir);
      if (exported.ok()) exported = (*task)->ExportExtras(outcome.export_dir);
    }
    if (auto status = distributed::AgreeOnStatus(comm, exported); !status.ok()) return status;
  }
  return outcome;
}

}  // namespace brain::train
