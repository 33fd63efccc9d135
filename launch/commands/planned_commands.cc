// Subcommands that are specified but not built yet: full help, and a clear non-zero exit when run.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "launch/commands/commands.h"

namespace brain::cli {

Subcommand Planned(std::string name, std::string summary, std::string description, std::string usage,
                   std::vector<OptionSpec> options, std::string issue) {
  Subcommand cmd;
  cmd.name = name;
  cmd.summary = summary;
  cmd.description = description;
  cmd.usage = usage;
  cmd.options = std::move(options);
  cmd.run = [name, issue](const ParsedArgs&) {
    std::fprintf(stderr, "brain %s: not implemented yet (tracked in issue %s)\n", name.c_str(),
                 issue.c_str());
    return kExitNotImplemented;
  };
  return cmd;
}

std::vector<Subcommand> PlannedCommands() {
  const std::vector<OptionSpec> config = ConfigOptions();
  return {
      Planned("demo", "run the built-in demo: SFT, reward model, then BRAIn vs DPO on a synthetic task",
              "Generates a small synthetic language task with a hidden gold reward, trains a tiny SFT\n"
              "model, a Bradley-Terry reward model, then BRAIn and DPO with matched budgets, and prints\n"
              "gold reward, win rate vs SFT, KL to SFT and time. Needs no downloads.",
              "mpirun -np 2 brain demo [--out DIR]",
              {{"out", "DIR", "run directory (default runs/demo)"}}, "#8"),
      Planned("sft", "supervised fine-tuning on demonstrations (prompt, response)",
              "Token-mean negative log-likelihood of the response tokens (spec §2).",
              "brain sft --config FILE [--set k=v]...", config, "#8"),
      Planned("rm", "train a Bradley-Terry reward model on preference pairs",
              "-log sigmoid(r_chosen - r_rejected - margin) over pairs (spec §2); reports pairwise accuracy.",
              "brain rm --config FILE [--set k=v]...", config, "#8"),
      Planned("dpo", "direct preference optimisation (DPO, cDPO, IPO) against a frozen reference",
              "DPO loss with beta, label smoothing and the IPO option (spec §2).",
              "brain dpo --config FILE [--set k=v]...", config, "#8"),
      Planned("align", "BRAIn: sample n per prompt, weight by the reward posterior, distil into the policy",
              "Rounds of: sample from the proposal, score with the reward model and SFT prior, self-\n"
              "normalised importance weights, train with the self-normalised baseline (spec §3).",
              "mpirun -np N brain align --config FILE [--set k=v]...", config, "#8"),
      Planned("ava", "AVA: approximated variational Bayesian inverse RL (AVA-d, AVA-p)",
              "Token-level rewards with a TQR model: likelihood, prior KL and TD terms, CER (spec §4).",
              "brain ava --config FILE [--set k=v]...", config, "#8"),
      Planned("sample", "draw n responses per prompt with exact proposal log-probs",
              "Batched KV-cache sampling (temperature, top-k, top-p); writes JSONL with ids and logq.",
              "mpirun -np N brain sample --model DIR --prompts FILE.jsonl --n N --out FILE.jsonl",
              {{"model", "DIR", "HF model directory", false, true},
               {"prompts", "FILE", "JSONL prompts", false, true},
               {"n", "N", "samples per prompt"},
               {"out", "FILE", "output JSONL", false, true}},
              "#7"),
      Planned("score", "add reward and teacher-forced log-probs to sampled responses",
              "Scores each response with a reward model (and log-probs under a prior model).",
              "brain score --reward-model DIR [--prior DIR] --in FILE.jsonl --out FILE.jsonl",
              {{"reward-model", "DIR", "HF reward model directory", false, true},
               {"prior", "DIR", "HF model for teacher-forced log-probs"},
               {"in", "FILE", "input JSONL", false, true},
               {"out", "FILE", "output JSONL", false, true}},
              "#7"),
      Planned("eval", "evaluate a policy: mean reward, win rate, KL to SFT, best-of-n",
              "Win rate under a reward model (ties half), KL estimate, response length (spec §5).",
              "brain eval --config FILE [--set k=v]...", config, "#8"),
      Planned("export", "write a checkpoint as a Hugging Face model directory",
              "config.json, model.safetensors and tokenizer files that transformers loads.",
              "brain export --run DIR --out DIR [--step N]",
              {{"run", "DIR", "run directory", false, true},
               {"out", "DIR", "output HF directory", false, true},
               {"step", "N", "checkpoint step (default: newest complete)"}},
              "#8"),
  };
}

}  // namespace brain::cli
