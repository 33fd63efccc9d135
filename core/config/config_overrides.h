// `--set path.to.field=value` overrides applied to an ExperimentConfig by reflection.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace brain::config {

// Applies one "a.b.c=value" assignment to `message`. Scalars and enums take their text form
// ("0.5", "true", "SIGMOID"); strings are taken verbatim; repeated scalars take a comma-separated
// list that replaces the old one; a message field takes a text-format body ("{n: 4}" or "n: 4",
// merged; "{}" just selects it, e.g. the algorithm). Errors name the path component at fault.
absl::Status ApplyOverride(const std::string& assignment, google::protobuf::Message* message);

}  // namespace brain::config
