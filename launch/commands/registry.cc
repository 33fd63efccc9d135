// The list of `brain` subcommands, in help order.
#include <algorithm>

#include "launch/commands/commands.h"

namespace brain::cli {

std::vector<OptionSpec> ConfigOptions() {
  return {
      {"config", "FILE", "experiment config (text-format ExperimentConfig)", false, true},
      {"set", "PATH=VALUE", "override a config field, e.g. --set brain.tau=0.5", true, false},
  };
}

const std::vector<Subcommand>& AllSubcommands() {
  static const std::vector<Subcommand>* all = [] {
    auto* list = new std::vector<Subcommand>(TrainingCommands());
    list->push_back(DemoCommand());
    list->push_back(ExportCommand());
    list->push_back(EvalCommand());
    list->push_back(SampleCommand());
    list->push_back(ScoreCommand());
    list->push_back(TokenizeCommand());
    list->push_back(CreateModelCommand());
    list->push_back(ConfigCommand());
    list->push_back(VersionCommand());
    // Help order: the workflow (demo, training, generation, evaluation, export), then utilities.
    static const char* kOrder[] = {"demo",   "sft",   "rm",     "dpo",      "align",  "ava",    "sample",
                                   "score",  "eval",  "export", "tokenize", "create-model", "config", "version"};
    auto rank = [](const std::string& name) {
      return std::find(std::begin(kOrder), std::end(kOrder), name) - std::begin(kOrder);
    };
    std::stable_sort(list->begin(), list->end(),
                     [&](const Subcommand& a, const Subcommand& b) { return rank(a.name) < rank(b.name); });
    return list;
  }();
  return *all;
}

}  // namespace brain::cli
