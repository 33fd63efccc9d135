// The `brain demo` pipeline.
#include "core/demo/demo_run.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/config/config_loader.h"
#include "core/data/datasets.h"
#include "core/demo/demo_task.h"
#include "core/eval/policy_eval.h"
#include "core/model/model_io.h"
#include "core/sampling/teacher_forcing.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/training_run.h"
#include "distributed/agree_on_status.h"
#include "nlohmann/json.hpp"

namespace brain::demo {
namespace {

using Clock = std::chrono::steady_clock;

struct Stage {
  std::string name;    // config file stem and run subdirectory
  std::string config;  // file in configs_dir
};

// Loads configs_dir/FILE and points its paths into out_dir (the files hold the same layout under
// runs/demo, so the configs also work on their own from the repository root).
absl::StatusOr<config::ExperimentConfig> StageConfig(const DemoOptions& options, const std::string& file,
                                                     const std::string& stage, const std::string& data_file) {
  const std::string out = options.out_dir;
  std::vector<std::string> sets = {
      absl::StrCat("output_dir=", out, "/", stage),
      absl::StrCat("models.tokenizer=", out, "/data/tokenizer"),
      absl::StrCat("data.train_path=", out, "/data/", data_file),
  };
  auto config = config::LoadConfigFile(options.configs_dir + "/" + file, sets);
  if (!config.ok()) return config.status();
  // Models trained by earlier stages.
  auto* models = config->mutable_models();
  if (stage != "sft") models->mutable_policy()->set_path(out + "/sft/export");
  if (stage != "sft") models->mutable_policy()->clear_preset();
  if (models->has_reward()) models->mutable_reward()->set_path(out + "/rm/export");
  if (models->has_reference()) models->mutable_reference()->set_path(out + "/sft/export");
  return config;
}

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

}  // namespace

std::string DemoResult::Table() const {
  std::string t = absl::StrFormat("%-22s %11s %12s %10s %8s %9s  %s\n", "method", "gold reward", "win vs SFT",
                                  "KL to SFT", "length", "time (s)", "budget");
  for (const auto& r : rows) {
    t += absl::StrFormat("%-22s %11.3f %12.3f %10.3f %8.2f %9.1f  %s\n", r.method, r.gold_reward, r.win_rate,
                         r.kl_to_sft, r.length, r.train_seconds, r.budget);
  }
  t += absl::StrFormat("best-of-n KL is the bound log n - (n-1)/n; reward model held-out pairwise accuracy "
                       "%.3f; total %.1f s\n", reward_model_accuracy, total_seconds);
  return t;
}

absl::StatusOr<DemoResult> RunDemo(const DemoOptions& options, distributed::Communicator& comm) {
  const auto start = Clock::now();
  const std::string data_dir = options.out_dir + "/data";
  absl::Status written = absl::OkStatus();
  if (comm.rank() == 0) written = WriteDemoTask(data_dir, DemoTaskOptions{});
  if (auto status = distributed::AgreeOnStatus(comm, written); !status.ok()) return status;
  auto say = [&](const std::string& line) {
    if (comm.rank() == 0 && !options.quiet) std::fprintf(stderr, "[demo] %s\n", line.c_str());
  };

  // ---- training stages
  struct Trained {
    double seconds = 0;
    int64_t steps = 0;
    config::ExperimentConfig config;
  };
  std::map<std::string, Trained> trained;
  const std::vector<std::tuple<std::string, std::string, std::string>> stages = {
      {"sft", "demo-sft.textproto", "demonstrations.jsonl"},
      {"rm", "demo-rm.textproto", "pairs.jsonl"},
      {"brain", "demo.textproto", "prompts.jsonl"},
      {"dpo", "demo-dpo.textproto", "pairs.jsonl"},
  };
  for (const auto& [stage, file, data_file] : stages) {
    auto config = StageConfig(options, file, stage, data_file);
    if (!config.ok()) return config.status();
    say(absl::StrCat("stage ", stage, ": ", options.configs_dir, "/", file, " -> ", config->output_dir()));
    const auto stage_start = Clock::now();
    auto outcome = train::RunTraining(*config, comm);
    if (!outcome.ok()) return outcome.status();
    if (outcome->trainer.preempted) return absl::AbortedError("demo: preempted (rerun to resume)");
    trained[stage] = {Seconds(stage_start), outcome->trainer.steps, *config};
  }

  // ---- evaluation under the hidden gold reward
  auto tokenizer = tokenizer::Tokenizer::FromDirectory(data_dir + "/tokenizer");
  if (!tokenizer.ok()) return tokenizer.status();
  const tokenizer::Tokenizer& tok = **tokenizer;
  const int32_t eos = *tok.eos_id();
  eval::RewardFn gold = [&tok, eos](const std::vector<sampling::TokenIds>&,
                                    const std::vector<sampling::TokenIds>& responses) {
    std::vector<double> out;
    for (const auto& r : responses) {
      std::vector<int32_t> ids;
      for (int64_t id : r) {
        if (id != eos) ids.push_back(static_cast<int32_t>(id));
      }
      auto text = tok.Decode(ids);
      out.push_back(text.ok() ? GoldReward(*text) : -1.0);
    }
    return out;
  };
  auto load = [&](const std::string& stage) { return model::LoadModel(options.out_dir + "/" + stage + "/export"); };
  auto sft = load("sft");
  auto rm = load("rm");
  auto brain_policy = load("brain");
  auto dpo = load("dpo");
  for (const auto* m : {&sft, &rm, &brain_policy, &dpo}) {
    if (!m->ok()) return m->status();
  }
  const config::ExperimentConfig& brain_config = trained["brain"].config;
  auto prompts_data = data::ReadPrompts(data_dir + "/eval_prompts.jsonl", brain_config.data(), tok);
  if (!prompts_data.ok()) return prompts_data.status();
  std::vector<eval::EvalPrompt> prompts;
  for (const auto& e : prompts_data->examples) {
    prompts.push_back({e.index, sampling::TokenIds(e.prompt_ids.begin(), e.prompt_ids.end())});
  }
  eval::EvalOptions eval_options;
  eval_options.sampling.max_new_tokens = brain_config.sampling().max_new_tokens();
  eval_options.sampling.batch_size = 64;
  eval_options.seed = brain_config.seed() + 1;
  const int64_t n = brain_config.brain().num_samples();

  DemoResult result;
  auto row = [&](const std::string& method, const std::string& stage,
                 const eval::EvalResult& e, double reward, double win) {
    DemoRow r;
    r.method = method;
    r.gold_reward = reward;
    r.win_rate = win;
    r.kl_to_sft = e.kl_estimate;
    r.length = e.response_length;
    if (!stage.empty()) {
      const auto& t = trained[stage];
      r.train_seconds = t.seconds;
      r.budget = absl::StrFormat("%d steps", t.steps);
    }
    result.rows.push_back(r);
  };
  say("evaluating SFT, best-of-n, DPO and BRAIn on " + std::to_string(prompts.size()) + " held-out prompts");
  {
    eval::EvalOptions with_bon = eval_options;
    with_bon.best_of_n = n;
    auto e = eval::EvaluatePolicy(**sft, **sft, **sft, prompts, gold, with_bon, comm,
                                  eval::RewardModelFn(**rm, 64));
    if (!e.ok()) return e.status();
    row("SFT", "sft", *e, e->reward_mean, e->win_rate);
    row(absl::StrCat("best-of-", n, " (RM picks)"), "", *e, e->best_of_n_reward_mean, e->best_of_n_win_rate);
    // Best-of-n's KL to its base policy is at most log n − (n − 1)/n (the bound, not an estimate).
    result.rows.back().kl_to_sft = std::log(static_cast<double>(n)) - (n - 1.0) / n;
    result.rows.back().budget = absl::StrFormat("%d samples/prompt", n);
  }
  for (const auto& [method, stage, policy] :
       {std::tuple{"DPO", "dpo", &dpo}, std::tuple{"BRAIn", "brain", &brain_policy}}) {
    auto e = eval::EvaluatePolicy(***policy, **sft, **sft, prompts, gold, eval_options, comm);
    if (!e.ok()) return e.status();
    row(method, stage, *e, e->reward_mean, e->win_rate);
  }

  // Reward model: held-out pairwise accuracy (ties half).
  {
    auto pairs = data::ReadPreferences(data_dir + "/eval_pairs.jsonl", brain_config.data(), tok);
    if (!pairs.ok()) return pairs.status();
    std::vector<sampling::TokenIds> p, chosen, rejected;
    for (const auto& e : pairs->examples) {
      p.emplace_back(e.prompt_ids.begin(), e.prompt_ids.end());
      chosen.emplace_back(e.chosen_ids.begin(), e.chosen_ids.end());
      rejected.emplace_back(e.rejected_ids.begin(), e.rejected_ids.end());
    }
    const auto rc = sampling::RewardScores(**rm, p, chosen, 64);
    const auto rr = sampling::RewardScores(**rm, p, rejected, 64);
    double correct = 0;
    for (size_t i = 0; i < rc.size(); ++i) correct += rc[i] > rr[i] ? 1.0 : (rc[i] == rr[i] ? 0.5 : 0.0);
    result.reward_model_accuracy = rc.empty() ? 0 : correct / static_cast<double>(rc.size());
  }
  result.total_seconds = Seconds(start);

  if (comm.rank() == 0) {
    nlohmann::json json;
    json["total_seconds"] = result.total_seconds;
    json["reward_model_accuracy"] = result.reward_model_accuracy;
    json["ranks"] = comm.size();
    for (const auto& r : result.rows) {
      json["rows"].push_back({{"method", r.method},
                              {"gold_reward", r.gold_reward},
                              {"win_rate_vs_sft", r.win_rate},
                              {"kl_to_sft", r.kl_to_sft},
                              {"length", r.length},
                              {"train_seconds", r.train_seconds},
                              {"budget", r.budget}});
    }
    std::ofstream(options.out_dir + "/results.json") << json.dump(2) << "\n";
  }
  return result;
}

}  // namespace brain::demo
