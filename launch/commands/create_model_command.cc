// `brain create-model`: a randomly initialised model from a size preset, saved in HF format.
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "core/model/model_factory.h"
#include "core/model/model_io.h"
#include "launch/commands/commands.h"

namespace brain::cli {
namespace {

int Usage(const std::string& message) {
  std::fprintf(stderr, "brain create-model: %s\n", message.c_str());
  return kExitUsage;
}

int Run(const ParsedArgs& args) {
  model::CreateModelOptions options;
  const std::string preset = args.Get("preset");
  const std::string out = args.Get("out");
  if (args.Has("seed") && !absl::SimpleAtoi(args.Get("seed"), &options.seed)) {
    return Usage("--seed: expected a non-negative integer, got '" + args.Get("seed") + "'");
  }
  if (args.Has("vocab-size")) {
    int64_t vocab = 0;
    if (!absl::SimpleAtoi(args.Get("vocab-size"), &vocab) || vocab <= 0) {
      return Usage("--vocab-size: expected a positive integer, got '" + args.Get("vocab-size") + "'");
    }
    options.vocab_size = vocab;
  }
  const std::string head = args.Get("head", "lm");
  if (head == "score") {
    options.head = model::HeadKind::kSequenceClassification;
  } else if (head != "lm") {
    return Usage("--head: expected 'lm' or 'score', got '" + head + "'");
  }
  if (!model::PresetConfig(preset).ok()) {
    return Usage("--preset: unknown preset '" + preset +
                 "' (choose one of: " + absl::StrJoin(model::PresetNames(), ", ") + ")");
  }
  auto created = model::CreatePresetModel(preset, options);
  if (!created.ok()) {
    std::fprintf(stderr, "brain create-model: %s\n", std::string(created.status().message()).c_str());
    return kExitFailure;
  }
  if (auto status = model::SaveModel(**created, out); !status.ok()) {
    std::fprintf(stderr, "brain create-model: %s\n", std::string(status.message()).c_str());
    return kExitFailure;
  }
  int64_t params = 0;
  for (const auto& p : (*created)->parameters()) params += p.numel();
  std::printf("wrote %s (%s, %lld parameters, seed %llu): config.json, model.safetensors\n", out.c_str(),
              preset.c_str(), static_cast<long long>(params), static_cast<unsigned long long>(options.seed));
  return kExitOk;
}

}  // namespace

Subcommand CreateModelCommand() {
  Subcommand cmd;
  cmd.name = "create-model";
  cmd.summary = "create a randomly initialised model from a size preset (HF format)";
  cmd.description =
      "Writes config.json and model.safetensors for a preset (gpt2-tiny, gpt2-124m, llama-tiny);\n"
      "used by tests, the demo and benchmarks (no downloads needed). The output loads in transformers.\n"
      "--head score makes a reward model (HF sequence classification, one label).";
  cmd.usage = "brain create-model --preset NAME --out DIR [--seed N] [--vocab-size V] [--head lm|score]";
  cmd.options = {{"preset", "NAME", "size preset: " + absl::StrJoin(model::PresetNames(), ", "), false, true},
                 {"out", "DIR", "output directory (created if needed)", false, true},
                 {"seed", "N", "initialisation seed (default 0)"},
                 {"vocab-size", "V", "vocabulary size (default 50257, GPT-2's)"},
                 {"head", "KIND", "lm (default) or score (a reward model)"}};
  cmd.run = Run;
  return cmd;
}

}  // namespace brain::cli
