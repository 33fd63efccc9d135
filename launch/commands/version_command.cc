// `brain version`: project and runtime library versions, and where each rank runs.
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdio>

#include "distributed/runtime_versions.h"
#include "distributed/world.h"
#include "kernels/device_info.h"
#include "launch/commands/commands.h"

namespace brain::cli {

Subcommand VersionCommand() {
  Subcommand cmd;
  cmd.name = "version";
  cmd.summary = "print versions (brain, LibTorch, MPI, NCCL, CUDA) and each rank's placement";
  cmd.description =
      "Rank 0 prints the versions; every rank then prints its rank, local rank, host, device and\n"
      "thread count, in rank order. Run it under mpirun to check a launch.";
  cmd.usage = "[mpirun -np N] brain version";
  cmd.run = [](const ParsedArgs&) {
    auto world = distributed::World::Create();
    if (!world.ok()) {
      std::fprintf(stderr, "brain version: %s\n", std::string(world.status().message()).c_str());
      return kExitFailure;
    }
    const distributed::World& w = **world;
    if (w.is_main()) {
      std::printf("brain %s\n", BRAIN_VERSION);
      std::printf("  LibTorch  %s\n", TORCH_VERSION);
      std::printf("  MPI       %s\n", distributed::MpiLibraryVersion().c_str());
      std::printf("  NCCL      %s\n", distributed::NcclVersion().c_str());
      const int devices = kernels::CudaDeviceCount();
      std::printf("  CUDA      kernels %s; runtime %s; %d device%s visible; torch CUDA %s\n",
                  kernels::BuiltWithCuda() ? "compiled (" BRAIN_CUDA_ARCHITECTURES ")" : "not compiled",
                  kernels::CudaRuntimeVersion().c_str(), devices, devices == 1 ? "" : "s",
                  torch::cuda::is_available() ? "available" : "unavailable");
      std::fflush(stdout);
    }
    for (int r = 0; r < w.size(); ++r) {  // rank-ordered lines
      MPI_Barrier(w.comm());
      if (r == w.rank()) {
        std::printf("%s\n", w.Describe().c_str());
        std::fflush(stdout);
      }
    }
    MPI_Barrier(w.comm());
    return kExitOk;
  };
  return cmd;
}

}  // namespace brain::cli
