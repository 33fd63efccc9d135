// The CUDA side of the kernels library: compiled when nvcc exists; the GPU smoke test skips cleanly
// without a device.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/device_info.h"

namespace brain::kernels {
namespace {

TEST(CudaBuild, KernelsLibraryMatchesConfiguration) {
#ifdef BRAIN_EXPECT_CUDA
  EXPECT_TRUE(BuiltWithCuda()) << "nvcc was found at configure time, so the .cu sources must be built";
  EXPECT_NE(CudaRuntimeVersion(), "none");
#else
  EXPECT_FALSE(BuiltWithCuda());
#endif
  EXPECT_GE(CudaDeviceCount(), 0);
}

TEST(CudaBuild, SmokeKernelOnDevice) {
  if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device visible: GPU smoke test skipped";
  std::vector<float> out(1000, -1.0f);
  const std::string error = CudaSmokeTest(0, static_cast<int>(out.size()), 0.5f, out.data());
  ASSERT_EQ(error, "");
  for (size_t i = 0; i < out.size(); ++i) ASSERT_FLOAT_EQ(out[i], 0.5f * i) << i;
}

}  // namespace
}  // namespace brain::kernels
