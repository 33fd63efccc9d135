// Device facts and a smoke-test kernel from the CUDA runtime (no torch headers, by design).
#include <cuda_runtime.h>

#include <string>

#include "kernels/device_info.h"

namespace brain::kernels {
namespace {

__global__ void FillIotaKernel(float* out, int n, float scale) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = static_cast<float>(i) * scale;
}

}  // namespace

bool BuiltWithCuda() { return true; }

int CudaDeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver/device" error
    return 0;
  }
  return count;
}

std::string CudaRuntimeVersion() {
  int version = 0;
  if (cudaRuntimeGetVersion(&version) != cudaSuccess) return "unknown";
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

std::string CudaSmokeTest(int device, int n, float scale, float* host_out) {
  float* dev = nullptr;
  cudaError_t err = cudaSetDevice(device);
  if (err == cudaSuccess) err = cudaMalloc(&dev, sizeof(float) * n);
  if (err == cudaSuccess) {
    FillIotaKernel<<<(n + 255) / 256, 256>>>(dev, n, scale);
    err = cudaGetLastError();
  }
  if (err == cudaSuccess) err = cudaMemcpy(host_out, dev, sizeof(float) * n, cudaMemcpyDeviceToHost);
  if (dev != nullptr) cudaFree(dev);
  return err == cudaSuccess ? std::string() : std::string(cudaGetErrorString(err));
}

}  // namespace brain::kernels
