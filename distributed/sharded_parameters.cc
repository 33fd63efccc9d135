// Stage-3 parameter storage: flat per-block shards, full buffers whose storage is freed and restored in
// place (so tensors autograd saved from the parameters see the values again after a re-gather).
#include "distributed/sharded_parameters.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/StorageImpl.h>

#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace brain::distributed {
namespace {

// Frees a storage's memory; tensors viewing it keep their shapes.
void FreeStorage(const at::Tensor& t) {
  c10::StorageImpl* impl = t.storage().unsafeGetStorageImpl();
  impl->set_data_ptr_noswap(at::DataPtr(nullptr, t.device()));
  impl->set_nbytes(0);
}

// Gives `t`'s (freed) storage the contents of `values` ([numel(t's storage)], contiguous). The buffer of
// `values` is moved over when it is exactly the storage size, else copied.
void RestoreStorage(const at::Tensor& t, const at::Tensor& values) {
  c10::StorageImpl* impl = t.storage().unsafeGetStorageImpl();
  const size_t nbytes = values.numel() * values.element_size();
  c10::StorageImpl* src = values.storage().unsafeGetStorageImpl();
  if (values.is_contiguous() && values.storage_offset() == 0 && src->nbytes() == nbytes &&
      values.device() == t.device() && values.scalar_type() == t.scalar_type()) {
    impl->set_data_ptr_noswap(src->set_data_ptr(at::DataPtr(nullptr, values.device())));
    src->set_nbytes(0);
  } else {
    impl->set_data_ptr_noswap(impl->allocator()->allocate(nbytes));
    // A fresh alias (own version counter), so no saved tensor looks modified.
    at::Tensor alias = at::empty({0}, t.options());
    alias.set_(t.storage(), 0, {values.numel()}, {1});
    at::NoGradGuard no_grad;
    alias.copy_(values.reshape({-1}));
  }
  impl->set_nbytes(nbytes);
}

}  // namespace

ShardedParameters::ShardedParameters(std::vector<NamedTensors> blocks, Communicator& comm) : comm_(comm) {
  const int world = comm_.size();
  at::NoGradGuard no_grad;
  blocks_.resize(blocks.size());
  for (size_t b = 0; b < blocks.size(); ++b) {
    Block& blk = blocks_[b];
    if (blocks[b].empty())
      throw std::invalid_argument(absl::StrCat("ShardedParameters: block ", b, " is empty"));
    const at::Tensor& first = blocks[b][0].second;
    int64_t numel = 0;
    for (auto& [name, p] : blocks[b]) {
      if (p.scalar_type() != first.scalar_type() || p.device() != first.device()) {
        throw std::invalid_argument(absl::StrCat("ShardedParameters: ", name,
                                                 " differs in dtype or device from ", blocks[b][0].first));
      }
      blk.names.push_back(name);
      blk.params.push_back(p);
      blk.offsets.push_back(numel);
      numel += p.numel();
      unsharded_bytes_ += p.numel() * p.element_size();
    }
    blk.padded = (numel + world - 1) / world * world;
    const int64_t shard_numel = blk.padded / world;
    blk.full = at::zeros({blk.padded}, first.options().requires_grad(false));
    for (size_t i = 0; i < blk.params.size(); ++i) {
      blk.full.narrow(0, blk.offsets[i], blk.params[i].numel()).copy_(blk.params[i].detach().reshape({-1}));
    }
    if (world == 1) {
      blk.shard = blk.full;  // the shard is the full buffer: gathering is a no-op
      blk.gathered = true;
    } else {
      blk.shard = blk.full.narrow(0, comm_.rank() * shard_numel, shard_numel).clone();
    }
    AddResident(blk.shard.numel() * blk.shard.element_size());
    // The parameters (the module's own tensors) now view the full buffer.
    for (size_t i = 0; i < blk.params.size(); ++i) {
      at::Tensor& p = blk.params[i];
      p.set_data(blk.full.narrow(0, blk.offsets[i], p.numel()).view(p.sizes()));
    }
    if (world > 1) FreeStorage(blk.full);
    blk.arrived.assign(blk.params.size(), false);
    blk.hook_ids.assign(blk.params.size(), 0);
    for (size_t i = 0; i < blk.params.size(); ++i) {
      if (!blk.params[i].requires_grad()) continue;
      ++blk.num_grad_params;
      const int bi = static_cast<int>(b), pi = static_cast<int>(i);
      blk.hook_ids[i] =
          blk.params[i].register_hook([this, bi, pi](const at::Tensor& grad) { OnGradient(bi, pi, grad); });
    }
  }
  peak_bytes_ = resident_bytes_;
}

ShardedParameters::~ShardedParameters() {
  for (Block& blk : blocks_) {
    for (size_t i = 0; i < blk.params.size(); ++i) {
      if (blk.params[i].requires_grad()) blk.params[i].remove_hook(blk.hook_ids[i]);
    }
  }
}

void ShardedParameters::AddResident(int64_t bytes) {
  resident_bytes_ += bytes;
  peak_bytes_ = std::max(peak_bytes_, resident_bytes_);
}

void ShardedParameters::Gather(int block) {
  Block& blk = blocks_.at(block);
  if (blk.gathered) return;
  at::NoGradGuard no_grad;
  const int64_t bytes = blk.padded * blk.full.element_size();
  AddResident(bytes);  // the gathered buffer (moved into the full storage, not copied)
  RestoreStorage(blk.full, comm_.AllGather(blk.shard));
  blk.gathered = true;
}

void ShardedParameters::Release(int block) {
  Block& blk = blocks_.at(block);
  if (!blk.gathered || comm_.size() == 1) return;
  FreeStorage(blk.full);
  resident_bytes_ -= blk.padded * blk.full.element_size();
  blk.gathered = false;
}

void ShardedParameters::GatherAll() {
  for (int b = 0; b < num_blocks(); ++b) Gather(b);
}

void ShardedParameters::ReleaseAll() {
  for (int b = 0; b < num_blocks(); ++b) Release(b);
}

void ShardedParameters::AfterBlock(int block, at::Tensor& output) {
  if (comm_.size() == 1) return;
  if (at::GradMode::is_enabled() && output.requires_grad()) {
    output.register_hook([this, block](const at::Tensor&) { Gather(block); });
  }
  Release(block);
}

void ShardedParameters::OnGradient(int block, int index, const at::Tensor& grad) {
  Block& blk = blocks_[block];
  at::NoGradGuard no_grad;
  if (!blk.flat_grad.defined()) blk.flat_grad = at::zeros({blk.padded}, blk.shard.options());
  blk.flat_grad.narrow(0, blk.offsets[index], blk.params[index].numel()).add_(grad.reshape({-1}));
  if (!blk.arrived[index]) {
    blk.arrived[index] = true;
    ++blk.num_arrived;
  }
  // Autograd also accumulates into .grad after this hook: drop the copies of earlier parameters.
  for (size_t i = 0; i < blk.params.size(); ++i) {
    if (blk.arrived[i] && static_cast<int>(i) != index) blk.params[i].mutable_grad() = at::Tensor();
  }
  if (blk.num_arrived == blk.num_grad_params) ReduceBlockGradient(block);
}

void ShardedParameters::ReduceBlockGradient(int block) {
  Block& blk = blocks_[block];
  at::NoGradGuard no_grad;
  at::Tensor reduced = comm_.size() == 1 ? blk.flat_grad : comm_.ReduceScatter(blk.flat_grad, ReduceOp::kSum);
  if (blk.grad_shard.defined()) {
    blk.grad_shard.add_(reduced);
  } else {
    blk.grad_shard = reduced;
  }
  blk.flat_grad = at::Tensor();
  blk.arrived.assign(blk.params.size(), false);
  blk.num_arrived = 0;
  Release(block);
}

void ShardedParameters::FinishGradients() {
  for (int b = 0; b < num_blocks(); ++b) {
    if (blocks_[b].num_arrived > 0) ReduceBlockGradient(b);
  }
  for (Block& blk : blocks_) {
    for (at::Tensor& p : blk.params) {
      if (p.requires_grad()) p.mutable_grad() = at::Tensor();
    }
  }
  ReleaseAll();
}

void ShardedParameters::ZeroGrad() {
  for (Block& blk : blocks_) blk.grad_shard = at::Tensor();
}

std::map<std::string, at::Tensor> ShardedParameters::StateTensors() const {
  std::map<std::string, at::Tensor> out;
  std::vector<int64_t> layout = {comm_.size(), comm_.rank()};
  for (size_t b = 0; b < blocks_.size(); ++b) {
    out[absl::StrCat("param_shard.", b)] = blocks_[b].shard.detach().clone();
    layout.push_back(blocks_[b].padded);
  }
  out["param_layout"] = at::tensor(layout, at::kLong);
  return out;
}

absl::Status ShardedParameters::ValidateState(const std::map<std::string, at::Tensor>& tensors) const {
  auto layout_it = tensors.find("param_layout");
  if (layout_it == tensors.end())
    return absl::InvalidArgumentError("parameter shards: missing \"param_layout\"");
  const at::Tensor layout = layout_it->second.to(at::kLong).reshape({-1});
  if (layout.numel() != 2 + num_blocks()) {
    return absl::FailedPreconditionError(absl::StrCat("parameter shards: \"param_layout\" lists ",
                                                      layout.numel() - 2, " block(s); the model has ",
                                                      num_blocks()));
  }
  if (layout[0].item<int64_t>() != comm_.size() || layout[1].item<int64_t>() != comm_.rank()) {
    return absl::FailedPreconditionError(
        absl::StrCat("parameter shards were saved by rank ", layout[1].item<int64_t>(), " of ",
                     layout[0].item<int64_t>(), " but this is rank ", comm_.rank(), " of ", comm_.size(),
                     " (load the exported full model with LoadFullParameters to change the rank count)"));
  }
  for (int b = 0; b < num_blocks(); ++b) {
    const std::string key = absl::StrCat("param_shard.", b);
    auto it = tensors.find(key);
    if (it == tensors.end())
      return absl::InvalidArgumentError(absl::StrCat("parameter shards: missing \"", key, "\""));
    const at::Tensor& shard = blocks_[b].shard;
    if (layout[2 + b].item<int64_t>() != blocks_[b].padded ||
        it->second.scalar_type() != shard.scalar_type() || it->second.numel() != shard.numel()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "parameter shards: \"", key, "\" is ", c10::toString(it->second.scalar_type()),
          c10::str(it->second.sizes()), " of a block padded to ", layout[2 + b].item<int64_t>(),
          "; expected ", c10::toString(shard.scalar_type()), "[", shard.numel(), "] of ", blocks_[b].padded));
    }
  }
  return absl::OkStatus();
}

absl::Status ShardedParameters::LoadStateTensors(const std::map<std::string, at::Tensor>& tensors) {
  absl::Status status = ValidateState(tensors);
  at::Tensor failed = at::full({1}, status.ok() ? 0.0 : 1.0,
                               at::TensorOptions().dtype(at::kDouble).device(blocks_[0].shard.device()));
  comm_.AllReduce(failed, ReduceOp::kMax);
  if (!status.ok()) return status;
  if (failed.cpu().item<double>() > 0) {
    return absl::AbortedError("parameter shards: another rank could not load its shards");
  }
  ReleaseAll();
  at::NoGradGuard no_grad;
  for (int b = 0; b < num_blocks(); ++b) {
    blocks_[b].shard.copy_(tensors.at(absl::StrCat("param_shard.", b)).reshape({-1}));
  }
  return absl::OkStatus();
}

NamedTensors ShardedParameters::FullParameters() {
  NamedTensors out;
  at::NoGradGuard no_grad;
  for (int b = 0; b < num_blocks(); ++b) {
    Block& blk = blocks_[b];
    const bool was_gathered = blk.gathered;
    Gather(b);
    for (size_t i = 0; i < blk.params.size(); ++i)
      out.emplace_back(blk.names[i], blk.params[i].detach().clone());
    if (!was_gathered) Release(b);
  }
  return out;
}

absl::Status ShardedParameters::LoadFullParameters(const std::map<std::string, at::Tensor>& tensors) {
  for (const Block& blk : blocks_) {
    for (size_t i = 0; i < blk.params.size(); ++i) {
      auto it = tensors.find(blk.names[i]);
      if (it == tensors.end())
        return absl::InvalidArgumentError(absl::StrCat("missing parameter \"", blk.names[i], "\""));
      if (it->second.sizes() != blk.params[i].sizes()) {
        return absl::InvalidArgumentError(absl::StrCat("parameter \"", blk.names[i], "\" is ",
                                                       c10::str(it->second.sizes()), "; the model has ",
                                                       c10::str(blk.params[i].sizes())));
      }
    }
  }
  ReleaseAll();
  at::NoGradGuard no_grad;
  const int64_t begin_rank = comm_.rank();
  for (Block& blk : blocks_) {
    at::Tensor flat = at::zeros({blk.padded}, blk.shard.options());
    for (size_t i = 0; i < blk.params.size(); ++i) {
      flat.narrow(0, blk.offsets[i], blk.params[i].numel()).copy_(tensors.at(blk.names[i]).reshape({-1}));
    }
    const int64_t s = blk.shard.numel();
    blk.shard.copy_(comm_.size() == 1 ? flat : flat.narrow(0, begin_rank * s, s));
  }
  return absl::OkStatus();
}

}  // namespace brain::distributed
