// `brain export`: a run's checkpoint as a Hugging Face model directory.
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/config/config_loader.h"
#include "core/model/checkpoint.h"
#include "core/model/safetensors_io.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/checkpoint_files.h"
#include "core/train/checkpoint_manager.h"
#include "core/train/hf_export.h"
#include "core/train/model_source.h"
#include "core/train/trainer_checkpoint.h"
#include "launch/commands/commands.h"

namespace brain::cli {
namespace {

// The newest complete checkpoint of run_dir (skipping, with a warning, any that fails verification), or
// the one of `step`, verified against its manifest.
absl::StatusOr<std::string> FindCheckpoint(const std::string& run_dir, std::optional<int64_t> step) {
  train::CheckpointManager manager(run_dir, /*comm=*/nullptr);
  if (!step) {
    auto newest = manager.FindNewestComplete();
    if (!newest.ok()) return newest.status();
    if (!newest->has_value()) return absl::NotFoundError(manager.checkpoints_dir() + ": no complete checkpoint");
    return **newest;
  }
  const std::string dir = manager.checkpoints_dir() + "/" + train::StepDirName(*step);
  if (auto verified = train::VerifyCheckpoint(dir, *step); !verified.ok()) return verified.status();
  return dir;
}

absl::Status Export(const std::string& run_dir, const std::string& out, std::optional<int64_t> step) {
  const std::string config_path = run_dir + "/config.textproto";
  auto config = config::LoadConfigFile(config_path);
  if (!config.ok()) return config.status();
  auto dir = FindCheckpoint(run_dir, step);
  if (!dir.ok()) return dir.status();
  const std::string tokenizer_dir = train::TokenizerDirectory(*config);
  auto tokenizer = tokenizer::Tokenizer::FromDirectory(tokenizer_dir);
  if (!tokenizer.ok()) return tokenizer.status();
  train::ModelSourceOptions options;
  options.vocab_size = (*tokenizer)->vocab_size();
  options.seed = config->seed();
  if (config->has_reward_model()) options.head = model::HeadKind::kSequenceClassification;
  auto model = train::BuildModel(config->models().policy(), "models.policy", options);
  if (!model.ok()) return model.status();
  const std::string weights = *dir + "/" + train::kModelFile;
  auto tensors = model::LoadSafetensors(weights);
  if (!tensors.ok()) return tensors.status();
  // The HF export is the model alone, without the checkpoint's task extras.
  if (auto status = model::LoadStateDict(**model, *tensors, train::CheckpointModelKey, weights); !status.ok()) {
    return status;
  }
  if (auto status = train::ExportHfDirectory(**model, tokenizer_dir, out); !status.ok()) return status;
  std::printf("exported %s -> %s (config.json, model.safetensors, tokenizer files)\n", dir->c_str(), out.c_str());
  return absl::OkStatus();
}

int Run(const ParsedArgs& args) {
  std::optional<int64_t> step;
  if (args.Has("step")) {
    int64_t s = 0;
    if (!absl::SimpleAtoi(args.Get("step"), &s) || s < 0) {
      std::fprintf(stderr, "brain export: --step: expected a non-negative integer, got '%s'\n", args.Get("step").c_str());
      return kExitUsage;
    }
    step = s;
  }
  if (auto status = Export(args.Get("run"), args.Get("out"), step); !status.ok()) {
    std::fprintf(stderr, "brain export: %s\n", std::string(status.message()).c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

Subcommand ExportCommand() {
  Subcommand cmd;
  cmd.name = "export";
  cmd.summary = "write a checkpoint as a Hugging Face model directory";
  cmd.description =
      "Reads RUN/config.textproto, verifies the newest complete checkpoint (or --step N) against its\n"
      "manifest, and writes config.json, model.safetensors and the tokenizer files into OUT, which\n"
      "transformers loads (AutoModelForCausalLM, or AutoModelForSequenceClassification for `brain rm`\n"
      "runs). Training runs also write RUN/export at the end.";
  cmd.usage = "brain export --run DIR --out DIR [--step N]";
  cmd.options = {{"run", "DIR", "run directory", false, true},
                 {"out", "DIR", "output HF directory", false, true},
                 {"step", "N", "checkpoint step (default: newest complete)"}};
  cmd.run = Run;
  return cmd;
}

}  // namespace brain::cli
