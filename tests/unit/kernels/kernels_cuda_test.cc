// The fused ops on a CUDA device against the naive CPU reference; skipped where no GPU is present.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "kernels/device_info.h"
#include "kernels/naive_reference.h"
#include "kernels/segmented_log_softmax.h"
#include "kernels/weighted_token_logprobs.h"
#include "tests/unit/kernels/logprob_test_inputs.h"

namespace brain::kernels {
namespace {

bool HaveCudaDevice() { return BuiltWithCuda() && CudaDeviceCount() > 0 && torch::cuda::is_available(); }

#define SKIP_WITHOUT_GPU()                                                                                  \
  if (!HaveCudaDevice()) {                                                                                  \
    GTEST_SKIP() << "no CUDA device (built with CUDA: " << (BuiltWithCuda() ? "yes" : "no") << ", runtime " \
                 << CudaRuntimeVersion() << "); CUDA kernel tests not run";                                 \
  }

using test_inputs::RelErr;

// max |a − b| / max(1, max |b|): for entropies, which can all be ~0 at extreme logits.
double ScaledErr(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor ad = a.detach().cpu().to(torch::kDouble), bd = b.detach().cpu().to(torch::kDouble);
  return (ad - bd).abs().max().item<double>() / std::max(bd.abs().max().item<double>(), 1.0);
}

struct Outputs {
  torch::Tensor logprob, entropy, grad_hidden, grad_weight;
};

// Runs fused (on `device`, in `dtype`) or naive (fp64 on the CPU) forward + backward with weights g.
Outputs Run(bool fused, const torch::Tensor& h0, const torch::Tensor& w0, const torch::Tensor& targets,
            const torch::Tensor& g, torch::Device device, torch::Dtype dtype, int64_t chunk_rows) {
  const torch::Tensor h = h0.to(device, dtype).requires_grad_();
  const torch::Tensor w = w0.to(device, dtype).requires_grad_();
  const torch::Tensor t = targets.to(device);
  TokenLogprobs out;
  if (fused) {
    WeightedLogprobOptions options;
    options.chunk_rows = chunk_rows;
    options.compute_entropy = true;
    out = WeightedTokenLogprobs(h, w, t, kDefaultIgnoreIndex, options);
  } else {
    out = NaiveWeightedTokenLogprobs(h, w, t, kDefaultIgnoreIndex, /*compute_entropy=*/true);
  }
  const auto grads = torch::autograd::grad({out.logprob}, {h, w}, {g.to(device, out.logprob.scalar_type())});
  return {out.logprob, out.entropy, grads[0], grads[1]};
}

void CompareOnDevice(torch::Dtype dtype, double tol, double weight_scale) {
  torch::manual_seed(3);
  const int64_t n = 333, d = 64, v = 5003;
  const torch::Tensor h = torch::randn({n, d}, torch::kDouble).to(dtype).to(torch::kDouble);
  const torch::Tensor w = (torch::randn({v, d}, torch::kDouble) * weight_scale).to(dtype).to(torch::kDouble);
  torch::Tensor targets = torch::randint(0, v, {n}, torch::kLong);
  targets.narrow(0, 64, 64).fill_(kDefaultIgnoreIndex);  // one fully ignored chunk
  targets.index_put_({torch::arange(0, n, 7)}, kDefaultIgnoreIndex);
  torch::Tensor g = torch::randn({n}, torch::kDouble);
  g.index_put_({torch::arange(1, n, 5)}, 0.0);
  const Outputs want = Run(false, h, w, targets, g, torch::kCPU, torch::kDouble, 0);
  const Outputs got = Run(true, h, w, targets, g, torch::Device(torch::kCUDA, 0), dtype, 64);
  EXPECT_LE(RelErr(got.logprob, want.logprob), tol);
  EXPECT_LE(ScaledErr(got.entropy, want.entropy), tol);
  EXPECT_LE(RelErr(got.grad_hidden, want.grad_hidden), tol);
  EXPECT_LE(RelErr(got.grad_weight, want.grad_weight), tol);
}

TEST(KernelsCudaTest, Fp32MatchesDoubleReference) {
  SKIP_WITHOUT_GPU();
  CompareOnDevice(torch::kFloat, 1e-5, 0.3);
}

TEST(KernelsCudaTest, ExtremeLogitsMatchDoubleReference) {
  SKIP_WITHOUT_GPU();
  CompareOnDevice(torch::kFloat, 1e-5, 500.0);  // logits of order ±1e4
}

TEST(KernelsCudaTest, Bf16MatchesDoubleReferenceLoosely) {
  SKIP_WITHOUT_GPU();
  // bf16 inputs, fp32 logits from cuBLAS, grad_hidden rounded to bf16: stated tolerance 1e-2.
  CompareOnDevice(torch::kBFloat16, 1e-2, 0.3);
}

TEST(KernelsCudaTest, SegmentedLogSoftmaxMatchesCpu) {
  SKIP_WITHOUT_GPU();
  torch::manual_seed(5);
  const torch::Tensor values = torch::randn({500}, torch::kDouble) * 10;
  const torch::Tensor ids = torch::randint(0, 40, {500}, torch::kLong);
  const torch::Tensor want = SegmentedLogSoftmax(values, ids, 42);
  for (torch::Dtype dtype : {torch::kDouble, torch::kFloat}) {
    const torch::Tensor got = SegmentedLogSoftmax(values.to(torch::kCUDA, dtype), ids.to(torch::kCUDA), 42);
    EXPECT_LE(RelErr(got, want), dtype == torch::kDouble ? 1e-12 : 1e-5);
  }
}

}  // namespace
}  // namespace brain::kernels
