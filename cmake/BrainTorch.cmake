# LibTorch comes from PyPI's torch wheel in the bootstrap virtualenv (or any LibTorch the user points
# at with -DTorch_DIR=... / CMAKE_PREFIX_PATH). Exposes the imported target brain::torch.
set(BRAIN_VENV "$ENV{BRAIN_VENV}" CACHE PATH "Bootstrap virtualenv holding PyPI's torch")
if(NOT BRAIN_VENV)
  set(BRAIN_VENV "$ENV{HOME}/.cache/brain/venv")
endif()
set(BRAIN_PYTHON "${BRAIN_VENV}/bin/python" CACHE FILEPATH "Python of the bootstrap virtualenv")

if(NOT Torch_DIR AND EXISTS "${BRAIN_PYTHON}")
  execute_process(
    COMMAND "${BRAIN_PYTHON}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _brain_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _brain_torch_rc ERROR_QUIET)
  if(_brain_torch_rc EQUAL 0)
    list(APPEND CMAKE_PREFIX_PATH "${_brain_torch_prefix}")
  endif()
endif()

# Torch's CMake config probes CUDA itself when the wheel is a CUDA build; it needs nvcc for that.
if(NOT BRAIN_WITH_CUDA)
  set(USE_CUDA OFF)
endif()
# Torch's config appends its own architecture list (some of which nvcc 13 rejects) to the global CUDA
# flags; our .cu files are compiled for CMAKE_CUDA_ARCHITECTURES only, so restore the flags after.
set(_brain_cuda_flags "${CMAKE_CUDA_FLAGS}")
set(_brain_cuda_archs "${CMAKE_CUDA_ARCHITECTURES}")
find_package(Torch REQUIRED)
set(CMAKE_CUDA_FLAGS "${_brain_cuda_flags}")
set(CMAKE_CUDA_ARCHITECTURES "${_brain_cuda_archs}")
message(STATUS "brain: LibTorch ${Torch_VERSION} from ${Torch_DIR}")

add_library(brain_torch INTERFACE)
add_library(brain::torch ALIAS brain_torch)
target_link_libraries(brain_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(brain_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
# TORCH_CXX_FLAGS carries the C++ ABI flag (-D_GLIBCXX_USE_CXX11_ABI=...).
separate_arguments(_brain_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(brain_torch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${_brain_torch_flags}>)
# A PyPI CUDA wheel brings its own CUDA runtime and NCCL (site-packages/nvidia/...), newer than the
# toolkit's. Executables must load those (one copy of each library per process), so their directories
# come first in the run path, and NCCL is linked from there (see BrainDependencies.cmake).
get_filename_component(_brain_torch_lib "${TORCH_LIBRARY}" DIRECTORY)
get_filename_component(BRAIN_WHEEL_NVIDIA_DIR "${_brain_torch_lib}/../../nvidia" ABSOLUTE)
set(CMAKE_BUILD_RPATH "${_brain_torch_lib}")
if(EXISTS "${BRAIN_WHEEL_NVIDIA_DIR}")
  file(GLOB _brain_wheel_lib_dirs LIST_DIRECTORIES true "${BRAIN_WHEEL_NVIDIA_DIR}/*/lib")
  list(APPEND CMAKE_BUILD_RPATH ${_brain_wheel_lib_dirs})
endif()

# at::parallel_for is a header template: its OpenMP region exists only in translation units compiled
# with -fopenmp. Without it every parallel_for in brain's own kernels ran on one thread. The link
# names the compiler's libgomp, but libgomp.so.1 resolves through the run path above to the copy in
# torch's lib directory, so the process keeps one OpenMP runtime (one thread pool) with LibTorch.
find_package(OpenMP REQUIRED COMPONENTS CXX)
target_link_libraries(brain_torch INTERFACE OpenMP::OpenMP_CXX)
