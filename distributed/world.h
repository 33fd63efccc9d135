// World: this process's place in the job — rank, size, local rank, device, threads — over MPI.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "distributed/process_layout.h"

namespace brain::distributed {

struct Device {
  enum class Type { kCpu, kCuda };
  Type type = Type::kCpu;
  int index = 0;
  std::string ToString() const;  // "cpu" or "cuda:N"
};

struct WorldOptions {
  int threads_per_rank = 0;  // 0 = hardware cores / local ranks
};

class World {
 public:
  // Initialises MPI (unless already initialised), reads the layout, picks the device and sets the
  // LibTorch thread count. MPI is finalised when the World is destroyed, if it was initialised here.
  static absl::StatusOr<std::unique_ptr<World>> Create(const WorldOptions& options = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return layout_.rank; }
  int size() const { return layout_.size; }
  int local_rank() const { return layout_.local_rank; }
  int local_size() const { return layout_.local_size; }
  bool is_main() const { return layout_.rank == 0; }
  const ProcessLayout& layout() const { return layout_; }
  const Device& device() const { return device_; }
  int num_threads() const { return num_threads_; }
  const std::string& hostname() const { return hostname_; }
  MPI_Comm comm() const { return comm_; }

  // "rank 1/2 (local 1/2) on host: cpu, 1 thread" — for startup logs.
  std::string Describe() const;

 private:
  World() = default;

  ProcessLayout layout_;
  Device device_;
  int num_threads_ = 1;
  std::string hostname_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  bool owns_mpi_ = false;
};

}  // namespace brain::distributed
