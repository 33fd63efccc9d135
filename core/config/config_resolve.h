// The resolved config: every default written out, derived values filled in, printable as text.
#pragma once

#include <string>

#include "proto/config.pb.h"

namespace brain::config {

// Fills derived values that depend on other fields: models.reference defaults to models.policy,
// models.tokenizer to the policy's path.
void FillDerivedDefaults(ExperimentConfig* config);

// Copy of `config` with every unset field that has a declared default set to it (recursively,
// including the unset top-level sections), so nothing is implicit.
ExperimentConfig WithExplicitDefaults(const ExperimentConfig& config);

// Text format of WithExplicitDefaults(config).
std::string ResolvedConfigText(const ExperimentConfig& config);

}  // namespace brain::config
