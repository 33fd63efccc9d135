# The system libraries (Debian packages installed by scripts/bootstrap.sh).
find_package(MPI REQUIRED COMPONENTS C)
find_package(Protobuf REQUIRED)
find_package(absl REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)

# NCCL: the copy LibTorch loads (the wheel's) when there is one, else the CUDA toolkit's.
find_library(BRAIN_NCCL_LIBRARY NAMES libnccl.so.2 nccl NAMES_PER_DIR
             HINTS ${BRAIN_WHEEL_NVIDIA_DIR}/nccl/lib ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
find_path(BRAIN_NCCL_INCLUDE nccl.h
          HINTS ${BRAIN_WHEEL_NVIDIA_DIR}/nccl/include ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
set(BRAIN_WITH_NCCL OFF)
if(BRAIN_WITH_CUDA AND BRAIN_NCCL_LIBRARY AND BRAIN_NCCL_INCLUDE)
  set(BRAIN_WITH_NCCL ON)
  add_library(brain_nccl INTERFACE)
  target_link_libraries(brain_nccl INTERFACE ${BRAIN_NCCL_LIBRARY})
  target_include_directories(brain_nccl SYSTEM INTERFACE ${BRAIN_NCCL_INCLUDE})
  message(STATUS "brain: NCCL ${BRAIN_NCCL_LIBRARY}")
endif()

option(BRAIN_BUILD_TESTS "Build the test suite" ON)
option(BRAIN_BUILD_BENCHMARKS "Build the benchmarks" ON)
if(BRAIN_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(BRAIN_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
