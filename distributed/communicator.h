// Communicator: collectives on tensors across the ranks of one group (MPI for CPU, NCCL for CUDA).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace brain::distributed {

enum class ReduceOp { kSum, kMax, kMin, kAvg };
const char* ReduceOpName(ReduceOp op);

// A collective in flight. Wait() blocks until it finished and its output is valid.
class Work {
 public:
  virtual ~Work() = default;
  virtual void Wait() = 0;
};

// Element counts of an even split of `total` over `parts` (the first total % parts get one more).
std::vector<int64_t> EvenSplit(int64_t total, int parts);

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "mpi" or "nccl"

  // In place: every rank ends with the reduction of all ranks' `tensor` (same shape everywhere).
  virtual void AllReduce(at::Tensor& tensor, ReduceOp op) = 0;
  // Starts an in-place all-reduce; `tensor` must stay alive and untouched until Wait().
  virtual std::unique_ptr<Work> AllReduceAsync(at::Tensor tensor, ReduceOp op) = 0;
  // Concatenation of every rank's `tensor` along dim 0 in rank order; shapes may differ in dim 0.
  virtual at::Tensor AllGather(const at::Tensor& tensor) = 0;
  // Reduction of the flattened `tensor` (same numel on all ranks), of which this rank keeps its
  // EvenSplit(numel, size) slice.
  virtual at::Tensor ReduceScatter(const at::Tensor& tensor, ReduceOp op) = 0;
  // In place: every rank ends with `root`'s values.
  virtual void Broadcast(at::Tensor& tensor, int root) = 0;
  virtual void Barrier() = 0;
};

}  // namespace brain::distributed
