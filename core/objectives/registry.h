// The objective registry: ExperimentConfig's algorithm oneof → the Objective that implements it.
#ifndef BRAIN_CORE_OBJECTIVES_REGISTRY_H_
#define BRAIN_CORE_OBJECTIVES_REGISTRY_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/objectives/objective.h"
#include "proto/config.pb.h"

namespace brain::objectives {

// Builds the objective selected by `config.algorithm_case()`. Fails with InvalidArgument (naming the
// config field) when no algorithm is set or an option combination the spec forbids is requested.
absl::StatusOr<std::unique_ptr<Objective>> CreateObjective(const config::ExperimentConfig& config);

// The algorithm cases the registry knows (for tests and `brain config` listings).
std::vector<config::ExperimentConfig::AlgorithmCase> RegisteredAlgorithms();

}  // namespace brain::objectives

#endif  // BRAIN_CORE_OBJECTIVES_REGISTRY_H_
