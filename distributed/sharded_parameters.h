// ShardedParameters (sharding stage 3): parameters kept as flat per-block shards, all-gathered block by
// block for forward and backward and freed after use; gradients reduce-scattered into the shards.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "distributed/communicator.h"

namespace brain::distributed {

// The parameters of one block (e.g. a transformer layer), with their names.
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

class ShardedParameters {
 public:
  // `blocks` partition the parameters (each tensor once; one dtype and device per block; the same values
  // on every rank, e.g. the same seed or checkpoint). Each block is flattened in order into a buffer padded
  // to a multiple of size(); rank r keeps elements [r·S, (r+1)·S) (S = padded / size) as its shard. The
  // parameters become views of the block's full buffer, whose storage exists only while the block is
  // gathered (with one rank the shard is the full buffer and gathering is a no-op). Parameters that
  // require grad get gradient hooks (see below). Initialise or load weights before constructing this.
  ShardedParameters(std::vector<NamedTensors> blocks, Communicator& comm);
  ~ShardedParameters();
  ShardedParameters(const ShardedParameters&) = delete;
  ShardedParameters& operator=(const ShardedParameters&) = delete;

  int num_blocks() const { return static_cast<int>(blocks_.size()); }
  Communicator& comm() const { return comm_; }

  // Gather (collective; no-op when gathered) all-gathers the block's shards into its full buffer, so its
  // parameters hold their values. Release (local) frees the full buffer; the parameters keep their shapes
  // but have no storage until the next Gather.
  void Gather(int block);
  void Release(int block);
  void GatherAll();
  void ReleaseAll();
  bool gathered(int block) const { return blocks_[block].gathered; }

  // After block `block` ran forward with result `output`: releases the block and, when `output` takes
  // part in autograd, registers a hook that gathers the block again when output's gradient is computed,
  // i.e. before the block's own backward runs.
  void AfterBlock(int block, at::Tensor& output);

  // Gradients: once every grad-requiring parameter of a block received its gradient in a backward pass,
  // the block's flat gradient is SUM-reduce-scattered (collective) and added to its shard gradient, and
  // the block is released. FinishGradients (collective; after backward) does the same for blocks that
  // got only some gradients (the missing ones count as zero), clears the parameters' .grad and releases
  // every block. Each rank's loss must be its share of the global loss, as with stage 0.
  void FinishGradients();
  void ZeroGrad();
  at::Tensor& shard(int block) { return blocks_[block].shard; }
  // This rank's summed gradient shard (undefined until a gradient arrived).
  at::Tensor& grad_shard(int block) { return blocks_[block].grad_shard; }

  // Parameter storage accounting: bytes of flat parameter buffers alive on this rank (shards plus the
  // full buffers of gathered blocks; with one rank just the shards), its peak since construction or
  // ResetPeak, and the unsharded parameter bytes.
  int64_t resident_bytes() const { return resident_bytes_; }
  int64_t peak_bytes() const { return peak_bytes_; }
  void ResetPeak() { peak_bytes_ = resident_bytes_; }
  int64_t unsharded_bytes() const { return unsharded_bytes_; }

  // Checkpoint hooks. StateTensors: this rank's shards "param_shard.<b>" and "param_layout" (int64
  // [2 + blocks]: world size, rank, padded numel of each block). LoadStateTensors (collective) restores
  // them; it fails on every rank, changing nothing, when any rank's tensors are missing or do not fit
  // (e.g. a different rank count — then use LoadFullParameters).
  std::map<std::string, at::Tensor> StateTensors() const;
  absl::Status LoadStateTensors(const std::map<std::string, at::Tensor>& tensors);
  // The full parameters by name, in block order (collective: gathers each block in turn; every rank gets
  // them, rank 0 writes the export). Blocks gathered before stay gathered.
  NamedTensors FullParameters();
  // Sets every shard from full parameters by name (e.g. an exported model; any rank count). Local; the
  // same `tensors` must be given on every rank.
  absl::Status LoadFullParameters(const std::map<std::string, at::Tensor>& tensors);

 private:
  struct Block {
    std::vector<std::string> names;
    std::vector<at::Tensor> params;  // views of `full`
    std::vector<int64_t> offsets;    // into the flat buffer
    std::vector<unsigned> hook_ids;  // per param; unused when it does not require grad
    std::vector<bool> arrived;
    int num_grad_params = 0;
    int num_arrived = 0;
    int64_t padded = 0;     // flat numel, a multiple of the world size
    at::Tensor full;        // [padded] over the storage the parameters view
    at::Tensor shard;       // [padded / size]
    at::Tensor grad_shard;  // [padded / size] or undefined
    at::Tensor flat_grad;   // [padded] while a backward fills it
    bool gathered = false;
  };

  void OnGradient(int block, int index, const at::Tensor& grad);
  void ReduceBlockGradient(int block);
  void AddResident(int64_t bytes);
  absl::Status ValidateState(const std::map<std::string, at::Tensor>& tensors) const;

  Communicator& comm_;
  std::vector<Block> blocks_;
  int64_t resident_bytes_ = 0;
  int64_t peak_bytes_ = 0;
  int64_t unsharded_bytes_ = 0;
};

}  // namespace brain::distributed
