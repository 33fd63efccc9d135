// Stage-3 glue for CausalLm: shards a model's parameters per block and gathers them around each block
// (trained models) or around a whole phase (frozen models).
// Lives above distributed/ (which knows nothing of models); header-only: link brain_model and
// brain_distributed.
#pragma once

#include <memory>

#include "core/model/causal_lm.h"
#include "distributed/sharded_parameters.h"

namespace brain::distributed {

// Shards `lm` (blocks: its transformer layers, then the rest — embeddings, final norm, heads) and sets
// its block hooks: the rest is gathered when Forward starts and stays gathered (Logits, Score and
// LmHeadWeight use it) until its gradients were reduced, FinishGradients or ReleaseAll; each layer is
// gathered just before it runs and released after (re-gathered for its backward). Frozen models (no
// parameter requires grad, e.g. the SFT prior or the reward model) call ReleaseAll() after the logits or
// scores of a batch. The returned object must outlive the hooks' use; ClearStage3 removes them.
inline std::unique_ptr<ShardedParameters> ShardStage3(model::CausalLm& lm, Communicator& comm) {
  std::vector<model::NamedParameters> blocks = lm.ParameterBlocks();
  const int rest = static_cast<int>(blocks.size()) - 1;
  auto sharded = std::make_unique<ShardedParameters>(std::move(blocks), comm);
  ShardedParameters* sp = sharded.get();
  model::BlockHooks hooks;
  hooks.before_forward = [sp, rest] { sp->Gather(rest); };
  hooks.before_layer = [sp](int64_t layer) { sp->Gather(static_cast<int>(layer)); };
  hooks.after_layer = [sp](int64_t layer, torch::Tensor& output) {
    sp->AfterBlock(static_cast<int>(layer), output);
  };
  lm.SetBlockHooks(std::move(hooks));
  return sharded;
}

inline void ClearStage3(model::CausalLm& lm) { lm.SetBlockHooks({}); }

// A frozen model at stage 3 (the SFT prior, the reward model, BRAIn's proposal): sharded at rest, no
// hooks — it runs whole (generation takes a different number of steps on each rank), inside a
// GatheredParameters scope around the phase that uses it.
inline std::unique_ptr<ShardedParameters> ShardFrozen(model::CausalLm& lm, Communicator& comm) {
  return std::make_unique<ShardedParameters>(lm.ParameterBlocks(), comm);
}

// Collective on entry: gathers every block of `sharded` (nothing when null); frees them on exit.
class GatheredParameters {
 public:
  explicit GatheredParameters(ShardedParameters* sharded) : sharded_(sharded) {
    if (sharded_ != nullptr) sharded_->GatherAll();
  }
  ~GatheredParameters() {
    if (sharded_ != nullptr) sharded_->ReleaseAll();
  }
  GatheredParameters(const GatheredParameters&) = delete;
  GatheredParameters& operator=(const GatheredParameters&) = delete;

 private:
  ShardedParameters* sharded_;
};

}  // namespace brain::distributed
