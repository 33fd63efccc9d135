// MpiCommunicator: collectives on CPU tensors over an MPI communicator, watched by the watchdog.
#pragma once

#include <mpi.h>

#include <memory>

#include "absl/status/statusor.h"
#include "distributed/collective_watchdog.h"
#include "distributed/communicator.h"

namespace brain::distributed {

class MpiCommunicator : public Communicator {
 public:
  // Wraps `comm` (not owned unless `owns_comm`). `watchdog` may be null (no timeout).
  MpiCommunicator(MPI_Comm comm, std::shared_ptr<CollectiveWatchdog> watchdog, bool owns_comm = false);
  ~MpiCommunicator() override;

  // All ranks, on a private duplicate of MPI_COMM_WORLD, watched with `timeout_s` (<= 0: no watchdog).
  static std::unique_ptr<MpiCommunicator> CreateWorld(double timeout_s);

  // A sub-communicator of the ranks passing the same `color`, ordered by `key` (MPI_Comm_split);
  // it shares this communicator's watchdog.
  std::unique_ptr<MpiCommunicator> Split(int color, int key) const;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  MPI_Comm comm() const { return comm_; }

  void AllReduce(at::Tensor& tensor, ReduceOp op) override;
  std::unique_ptr<Work> AllReduceAsync(at::Tensor tensor, ReduceOp op) override;
  at::Tensor AllGather(const at::Tensor& tensor) override;
  at::Tensor ReduceScatter(const at::Tensor& tensor, ReduceOp op) override;
  void Broadcast(at::Tensor& tensor, int root) override;
  void Barrier() override;

 private:
  // Starts a watched collective (and applies the stall test hook); returns the sequence number.
  uint64_t BeginCollective(const char* op, int64_t bytes);
  void EndCollective(uint64_t seq);

  MPI_Comm comm_;
  bool owns_comm_;
  int rank_ = 0;
  int size_ = 1;
  std::shared_ptr<CollectiveWatchdog> watchdog_;
  uint64_t local_seq_ = 0;
  // Test hook (BRAIN_TEST_STALL_RANK / BRAIN_TEST_STALL_SEQ): this rank stops participating before
  // its collective number `stall_seq_`, so the other ranks' watchdogs must fire.
  int64_t stall_seq_ = -1;
};

}  // namespace brain::distributed
