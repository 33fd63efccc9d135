// Device facts from the CUDA runtime, compiled without torch headers (works with or without CUDA).
#pragma once

#include <string>

namespace brain::kernels {

// True when the kernels library was compiled with nvcc.
bool BuiltWithCuda();

// Number of visible CUDA devices (0 without CUDA, a driver or a device).
int CudaDeviceCount();

// "13.0" style runtime version, or "none".
std::string CudaRuntimeVersion();

// Launches a tiny kernel on device `device` that writes i*scale into n floats and copies them back.
// Returns an empty string on success, else the CUDA error text. Used by the GPU smoke test.
std::string CudaSmokeTest(int device, int n, float scale, float* host_out);

}  // namespace brain::kernels
