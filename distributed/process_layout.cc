// Reading the process layout from launcher environment variables.
#include "distributed/process_layout.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace brain::distributed {
namespace {

std::optional<int> IntVar(const EnvLookup& env, const std::string& name) {
  std::optional<std::string> value = env(name);
  int parsed = 0;
  if (!value || !absl::SimpleAtoi(*value, &parsed)) return std::nullopt;
  return parsed;
}

bool Valid(const ProcessLayout& l) {
  return l.size >= 1 && l.rank >= 0 && l.rank < l.size && l.local_size >= 1 && l.local_rank >= 0 &&
         l.local_rank < l.local_size && l.local_size <= l.size;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::optional<int> SlurmTasksOnNode(const std::string& tasks_per_node, int node_index) {
  // Entries are "N" or "N(xR)" (N tasks on each of R consecutive nodes), comma separated.
  int node = 0;
  for (absl::string_view entry : absl::StrSplit(tasks_per_node, ',')) {
    int tasks = 0, repeat = 1;
    const size_t paren = entry.find('(');
    if (paren == absl::string_view::npos) {
      if (!absl::SimpleAtoi(entry, &tasks)) return std::nullopt;
    } else {
      absl::string_view rest = entry.substr(paren);
      if (!absl::SimpleAtoi(entry.substr(0, paren), &tasks) || rest.size() < 4 ||
          rest.substr(0, 2) != "(x" || rest.back() != ')' ||
          !absl::SimpleAtoi(rest.substr(2, rest.size() - 3), &repeat) || repeat < 1) {
        return std::nullopt;
      }
    }
    if (node_index < node + repeat) return tasks;
    node += repeat;
  }
  return std::nullopt;
}

std::optional<ProcessLayout> LayoutFromEnv(const EnvLookup& env) {
  ProcessLayout layout;
  if (auto rank = IntVar(env, "OMPI_COMM_WORLD_RANK")) {
    auto size = IntVar(env, "OMPI_COMM_WORLD_SIZE");
    auto local_rank = IntVar(env, "OMPI_COMM_WORLD_LOCAL_RANK");
    auto local_size = IntVar(env, "OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!size || !local_rank || !local_size) return std::nullopt;
    layout = {*rank, *size, *local_rank, *local_size, "openmpi"};
  } else if (auto rank = IntVar(env, "SLURM_PROCID")) {
    auto size = IntVar(env, "SLURM_NTASKS");
    auto local_rank = IntVar(env, "SLURM_LOCALID");
    auto node_id = IntVar(env, "SLURM_NODEID");
    std::optional<std::string> per_node = env("SLURM_STEP_TASKS_PER_NODE");
    if (!per_node) per_node = env("SLURM_TASKS_PER_NODE");
    if (!size || !local_rank || !per_node) return std::nullopt;
    auto local_size = SlurmTasksOnNode(*per_node, node_id.value_or(0));
    if (!local_size) return std::nullopt;
    layout = {*rank, *size, *local_rank, *local_size, "slurm"};
  } else {
    return std::nullopt;
  }
  if (!Valid(layout)) return std::nullopt;
  return layout;
}

int DefaultThreadsPerRank(int requested, int local_size, int hardware_cores) {
  if (requested > 0) return requested;
  return std::max(1, hardware_cores / std::max(1, local_size));
}

}  // namespace brain::distributed
