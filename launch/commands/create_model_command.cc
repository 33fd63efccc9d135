// `brain create-model`: a randomly initialised model from a size preset, saved in HF format.
#include "launch/commands/commands.h"

namespace brain::cli {

Subcommand CreateModelCommand() {
  return Planned("create-model", "create a randomly initialised model from a size preset (HF format)",
                 "Writes config.json and model.safetensors for a preset such as gpt2-tiny, gpt2-124m\n"
                 "or llama-tiny; used by tests, the demo and benchmarks (no downloads needed).",
                 "brain create-model --preset NAME --out DIR [--seed N]",
                 {{"preset", "NAME", "size preset", false, true},
                  {"out", "DIR", "output directory", false, true},
                  {"seed", "N", "initialisation seed"}},
                 "#3");
}

}  // namespace brain::cli
