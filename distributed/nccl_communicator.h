// NcclCommunicator: collectives on CUDA tensors with NCCL, on a stream of its own (CUDA builds only).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "distributed/communicator.h"
#include "distributed/mpi_communicator.h"

namespace brain::distributed {

// True when this build links NCCL (BRAIN_WITH_NCCL); NcclCommunicator::Create fails otherwise.
bool NcclAvailable();

class NcclCommunicator : public Communicator {
 public:
  // A communicator over the ranks of `bootstrap` on CUDA device `device`: rank 0 creates the NCCL
  // unique id and broadcasts it over MPI. Collectives hang-check through `bootstrap`'s watchdog
  // settings (`timeout_s`; <= 0: none) and abort the NCCL communicator and the job on timeout.
  static absl::StatusOr<std::unique_ptr<NcclCommunicator>> Create(MpiCommunicator& bootstrap, int device,
                                                                  double timeout_s);
  ~NcclCommunicator() override;

  int rank() const override;
  int size() const override;
  std::string backend() const override { return "nccl"; }

  // Ordering: each collective waits for work already queued on the caller's current CUDA stream,
  // runs on the communicator's stream, and the caller's stream waits for it before later work.
  void AllReduce(at::Tensor& tensor, ReduceOp op) override;
  std::unique_ptr<Work> AllReduceAsync(at::Tensor tensor, ReduceOp op) override;
  at::Tensor AllGather(const at::Tensor& tensor) override;
  at::Tensor ReduceScatter(const at::Tensor& tensor, ReduceOp op) override;
  void Broadcast(at::Tensor& tensor, int root) override;
  void Barrier() override;

  struct State;  // NCCL and CUDA handles (defined in the .cc so this header needs neither)

 private:
  explicit NcclCommunicator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace brain::distributed
