// Trainer state to and from checkpoints.
#include "core/train/trainer_checkpoint.h"

#include <torch/torch.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/config/config_resolve.h"
#include "core/model/checkpoint.h"
#include "core/train/checkpoint_files.h"
#include "core/train/checkpoint_manager.h"
#include "core/train/rng_state.h"
#include "core/train/sha256.h"
#include "distributed/sharded_parameters.h"

namespace brain::train {
namespace {

constexpr char kExtraPrefix[] = "extra/";
constexpr char kRngTensor[] = "rng.torch_cpu";


}  // namespace

std::optional<std::string> CheckpointModelKey(const std::string& key) {
  if (absl::StartsWith(key, kExtraPrefix)) return std::nullopt;
  return key;
}

TrainerCheckpoint::TrainerCheckpoint(const config::ExperimentConfig& config, distributed::Communicator& comm,
                                     std::string run_dir)
    : config_(config),
      comm_(comm),
      manager_(std::make_unique<CheckpointManager>(std::move(run_dir), &comm, config.checkpoint().keep_last())) {
  Sha256 hash;
  hash.Update(config::ResolvedConfigText(config));
  config_hash_ = hash.FinishHex();
}

TrainerCheckpoint::~TrainerCheckpoint() = default;

absl::Status TrainerCheckpoint::Save(int64_t step, model::CausalLm& model, PolicyOptimizer& optimizer,
                                     TrainingTask& task, distributed::ShardedParameters* sharded) {
  model::TensorMap model_tensors;
  checkpoint::TrainerState state;
  if (sharded != nullptr) {
    for (auto& [name, tensor] : sharded->FullParameters()) {
      if (comm_.rank() == 0) model_tensors[name] = std::move(tensor);
    }
  }
  std::map<std::string, torch::Tensor> extras = task.ExtraModelTensors();  // collective at stage 3
  if (comm_.rank() == 0) {
    if (sharded == nullptr) {
      for (const auto& item : model.named_parameters()) model_tensors[item.key()] = item.value().detach();
    }
    for (auto& [name, tensor] : extras) model_tensors[kExtraPrefix + name] = tensor.detach();
    state.set_step(step);
    state.set_torch_cpu_rng_state(CaptureTorchCpuRngState());
    state.set_config_hash(config_hash_);
    state.set_world_size(comm_.size());
    state.set_sharding_stage(config_.distributed().sharding_stage());
    optimizer.SaveState(&state);
  }
  // Each rank's own torch RNG state travels in its shard (ranks may draw differently).
  model::TensorMap rank_tensors = optimizer.StateTensors();
  rank_tensors[kRngTensor] = BytesToTensor(CaptureTorchCpuRngState());
  auto saved = manager_->Save(step, model_tensors, rank_tensors, state);
  return saved.status();
}

absl::StatusOr<std::optional<LoadedCheckpoint>> TrainerCheckpoint::RestoreModel(model::CausalLm& model,
                                                                               TrainingTask& task) {
  auto newest = manager_->FindNewestComplete();
  if (!newest.ok()) return newest.status();
  if (!newest->has_value()) return std::optional<LoadedCheckpoint>();
  auto loaded = manager_->Load(**newest);
  if (!loaded.ok()) return loaded.status();
  const checkpoint::TrainerState& state = loaded->state;
  if (state.config_hash() != config_hash_ && comm_.rank() == 0) {
    std::fprintf(stderr, "[train] warning: %s was written with a different config (hash %s, now %s)\n",
                 loaded->dir.c_str(), state.config_hash().c_str(), config_hash_.c_str());
  }
  // The model's own tensors; the task's extras (prefixed) are restored by the task below.
  if (auto status = model::LoadStateDict(model, loaded->model_tensors, CheckpointModelKey,
                                         loaded->dir + "/" + kModelFile);
      !status.ok()) {
    return status;
  }
  std::map<std::string, torch::Tensor> extra;
  for (const auto& [name, tensor] : loaded->model_tensors) {
    if (absl::StartsWith(name, kExtraPrefix)) extra[name.substr(sizeof(kExtraPrefix) - 1)] = tensor;
  }
  if (auto status = task.RestoreExtraModelTensors(extra); !status.ok()) return status;
  loaded->model_tensors.clear();  // loaded into the model; the rank tensors wait for RestoreOptimizer
  return std::optional<LoadedCheckpoint>(*std::move(loaded));
}

absl::Status TrainerCheckpoint::RestoreOptimizer(const LoadedCheckpoint& loaded, PolicyOptimizer& optimizer) {
  const checkpoint::TrainerState& state = loaded.state;
  if (auto status = optimizer.LoadStateTensors(loaded.rank_tensors); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(loaded.dir, ": ", status.message()));
  }
  if (auto status = optimizer.LoadState(state); !status.ok()) return status;
  auto rng = loaded.rank_tensors.find(kRngTensor);
  const std::string rng_state =
      rng != loaded.rank_tensors.end() ? TensorToBytes(rng->second) : state.torch_cpu_rng_state();
  if (auto status = RestoreTorchCpuRngState(rng_state); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(loaded.dir, ": ", status.message()));
  }
  if (comm_.rank() == 0) {
    std::fprintf(stderr, "[train] resumed from %s (step %lld)\n", loaded.dir.c_str(),
                 static_cast<long long>(state.step()));
  }
  return absl::OkStatus();
}

std::vector<int64_t> TrainerCheckpoint::CompleteSteps() const { return manager_->CompleteSteps(); }

}  // namespace brain::train
