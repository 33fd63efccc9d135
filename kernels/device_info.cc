// Fallback device facts for builds without nvcc; the CUDA build uses cuda/device_info.cu instead.
#include "kernels/device_info.h"

#ifndef BRAIN_WITH_CUDA
namespace brain::kernels {

bool BuiltWithCuda() { return false; }
int CudaDeviceCount() { return 0; }
std::string CudaRuntimeVersion() { return "none"; }
std::string CudaSmokeTest(int, int, float, float*) { return "built without CUDA"; }

}  // namespace brain::kernels
#endif
