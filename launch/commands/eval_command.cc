// `brain eval`: a policy against a reference policy under a reward model (spec §5).
#include <mpi.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/config/config_loader.h"
#include "core/data/datasets.h"
#include "core/eval/policy_eval.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/model_source.h"
#include "launch/commands/command_runtime.h"
#include "launch/commands/commands.h"
#include "nlohmann/json.hpp"

namespace brain::cli {
namespace {

absl::StatusOr<eval::EvalResult> Evaluate(const config::ExperimentConfig& c, int64_t best_of_n,
                                          distributed::Communicator& comm) {
  const config::ModelsConfig& m = c.models();
  if (!m.has_reference()) {
    return absl::InvalidArgumentError("models.reference: brain eval compares the policy with a reference policy "
                                      "(also the SFT prior of the KL estimate); set it");
  }
  if (!m.has_reward()) return absl::InvalidArgumentError("models.reward: brain eval needs a reward model");
  const std::string prompts_path = c.data().eval_path().empty() ? c.data().train_path() : c.data().eval_path();
  if (prompts_path.empty()) return absl::InvalidArgumentError("data.eval_path: set a JSONL prompt file");
  const std::string tokenizer_dir = train::TokenizerDirectory(c);
  auto tokenizer = tokenizer::Tokenizer::FromDirectory(tokenizer_dir);
  if (!tokenizer.ok()) return tokenizer.status();
  auto data = data::ReadPrompts(prompts_path, c.data(), **tokenizer);
  if (!data.ok()) return data.status();
  train::ModelSourceOptions lm;
  lm.vocab_size = (*tokenizer)->vocab_size();
  lm.seed = c.seed();
  train::ModelSourceOptions rm = lm;
  rm.head = model::HeadKind::kSequenceClassification;
  auto policy = train::BuildModel(m.policy(), "models.policy", lm);
  if (!policy.ok()) return policy.status();
  auto reference = train::BuildModel(m.reference(), "models.reference", lm);
  if (!reference.ok()) return reference.status();
  auto reward = train::BuildModel(m.reward(), "models.reward", rm);
  if (!reward.ok()) return reward.status();
  auto sampling = sampling::SamplingOptionsFromConfig(c.sampling());
  if (!sampling.ok()) return sampling.status();
  // Every rank checks every prompt (not only its share), so a sequence too long for a model's positions
  // stops all ranks here together instead of one rank inside generation.
  const std::pair<const model::CausalLm*, const char*> generators[] = {{policy->get(), "models.policy"},
                                                                       {reference->get(), "models.reference"}};
  for (const auto& [model, field] : generators) {
    const int64_t positions = model->config().max_positions;
    for (const auto& e : data->examples) {
      const int64_t need = static_cast<int64_t>(e.prompt_ids.size()) + sampling->max_new_tokens;
      if (need <= positions) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          prompts_path, ": prompt ", e.index, " has ", e.prompt_ids.size(), " tokens; with sampling.max_new_tokens = ",
          sampling->max_new_tokens, " its samples reach ", need, " positions, beyond the ", positions, " of ", field,
          " (lower sampling.max_new_tokens or data.max_prompt_tokens)"));
    }
  }
  std::vector<eval::EvalPrompt> prompts;
  for (const auto& e : data->examples) {
    prompts.push_back({e.index, sampling::TokenIds(e.prompt_ids.begin(), e.prompt_ids.end())});
  }
  eval::EvalOptions options;
  options.sampling = *sampling;
  options.seed = c.seed();
  options.best_of_n = best_of_n;
  options.score_batch_size = std::max<int64_t>(1, sampling->batch_size);
  return eval::EvaluatePolicy(**policy, **reference, **reference, prompts,
                              eval::RewardModelFn(**reward, options.score_batch_size), options, comm);
}

int Run(const ParsedArgs& args) {
  int64_t best_of_n = 0;
  if (args.Has("best-of-n") && (!absl::SimpleAtoi(args.Get("best-of-n"), &best_of_n) || best_of_n < 2)) {
    std::fprintf(stderr, "brain eval: --best-of-n: expected an integer >= 2, got '%s'\n", args.Get("best-of-n").c_str());
    return kExitUsage;
  }
  auto config = config::LoadConfigFile(args.Get("config"), args.GetAll("set"));
  if (!config.ok()) {
    if (LauncherRankZero()) {
      std::fprintf(stderr, "brain eval: invalid config\n%s\n", std::string(config.status().message()).c_str());
    }
    return kExitFailure;
  }
  auto runtime = StartRuntime(config->distributed(), "eval");
  if (!runtime.ok()) {
    ReportError("eval", runtime.status());
    return kExitFailure;
  }
  absl::StatusOr<eval::EvalResult> result = absl::UnknownError("not run");
  try {
    result = Evaluate(*config, best_of_n, *runtime->comm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "brain eval: internal error: %s\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, kExitFailure);
  }
  if (!result.ok()) {
    ReportError("eval", result.status());
    return kExitFailure;
  }
  if (runtime->world->rank() == 0) {
    nlohmann::json json(result->AsMap());
    std::printf("%s\n", json.dump(2).c_str());
    if (args.Has("out")) {
      std::ofstream out(args.Get("out"), std::ios::trunc);
      out << json.dump(2) << "\n";
      if (!out) {
        std::fprintf(stderr, "brain eval: %s: cannot write\n", args.Get("out").c_str());
        return kExitFailure;
      }
    }
  }
  return kExitOk;
}

}  // namespace

Subcommand EvalCommand() {
  Subcommand cmd;
  cmd.name = "eval";
  cmd.summary = "evaluate a policy: mean reward, win rate, KL to SFT, best-of-n";
  cmd.description =
      "One sample per prompt (data.eval_path, else data.train_path) from models.policy and from\n"
      "models.reference, judged by models.reward: mean rewards, win rate (ties half) with\n"
      "win/tie/lose shares, KL estimate mean(log pi(y) - log p_ref(y)) over policy samples (unbiased\n"
      "at temperature 1 without truncation), response lengths; --best-of-n N adds the mean reward\n"
      "and win rate of the best of N policy samples. Prompts are split over MPI ranks. Prints JSON.";
  cmd.usage = "mpirun -np N brain eval --config FILE [--set k=v]... [--best-of-n N] [--out FILE.json]";
  cmd.options = ConfigOptions();
  cmd.options.push_back({"best-of-n", "N", "also evaluate best-of-N sampling under the reward model"});
  cmd.options.push_back({"out", "FILE", "also write the JSON result here"});
  cmd.run = Run;
  return cmd;
}

}  // namespace brain::cli
