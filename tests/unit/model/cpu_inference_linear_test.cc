// CpuInferenceLinear (oneDNN's inner product for Dense, Conv1d and the LM head in CPU inference) against
// fp64 products, and which inputs take it.
#include "core/model/cpu_inference_linear.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <utility>
#include <vector>

#include "core/model/layers.h"

namespace brain::model {
namespace {

double MaxError(const torch::Tensor& got, const torch::Tensor& expect) {
  return (got.to(torch::kFloat64) - expect).abs().max().item<double>();
}

// Both weight layouts, with and without bias, one row and many, leading dimensions that must be kept;
// a tiny test model's width and a realistic one with an odd output count.
TEST(CpuInferenceLinearTest, EqualsAnFp64ProductForBothWeightLayouts) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "LibTorch without oneDNN: torch::linear serves every case";
  torch::manual_seed(7);
  torch::NoGradGuard no_grad;
  for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{64, 97}, {768, 5003}}) {
    const auto w_out_in = torch::randn({out, in}) * 0.05;
    const auto w_in_out = torch::randn({in, out}) * 0.05;  // GPT-2's Conv1D layout, passed transposed
    const auto bias = torch::randn({out});
    for (const std::vector<int64_t>& shape :
         std::vector<std::vector<int64_t>>{{1, in}, {16, in}, {64, 1, in}, {4, 33, in}}) {
      const auto x = torch::randn(shape);
      for (const auto& weight : {w_out_in, w_in_out.t()}) {
        ASSERT_TRUE(UseCpuInferenceLinear(x, weight));
        for (const bool with_bias : {false, true}) {
          auto expect = torch::matmul(x.to(torch::kFloat64), weight.to(torch::kFloat64).t());
          if (with_bias) expect = expect + bias.to(torch::kFloat64);
          const auto got = CpuInferenceLinear(x, weight, with_bias ? bias : torch::Tensor());
          ASSERT_EQ(got.sizes(), expect.sizes());
          EXPECT_LT(MaxError(got, expect), 1e-4) << x.sizes() << " weight strides " << weight.strides()
                                                 << " bias " << with_bias;
        }
      }
    }
  }
}

TEST(CpuInferenceLinearTest, ServesFp32InferenceOnly) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "LibTorch without oneDNN";
  const auto w = torch::randn({600, 512});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(UseCpuInferenceLinear(torch::randn({3, 512}), w));
  EXPECT_TRUE(UseCpuInferenceLinear(torch::randn({3, 512}), torch::randn({512, 600}).t()));
  EXPECT_FALSE(UseCpuInferenceLinear(torch::randn({3, 512}, torch::kFloat64), w.to(torch::kFloat64)));
  EXPECT_FALSE(UseCpuInferenceLinear(torch::randn({3, 512}), torch::randn({1200, 1024}).slice(0, 0, 1200, 2)
                                                                  .slice(1, 0, 1024, 2)));  // no unit stride
  EXPECT_FALSE(UseCpuInferenceLinear(torch::randn({0, 512}), w));
}

TEST(CpuInferenceLinearTest, AutogradKeepsTorchsMatmul) {
  Dense dense(512, 600, /*bias=*/true);
  torch::nn::init::normal_(dense->weight, 0.0, 0.05);
  const auto x = torch::randn({64, 512});
  EXPECT_FALSE(UseCpuInferenceLinear(x, dense->weight));  // the weight requires grad
  const auto y = dense->forward(x);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  EXPECT_TRUE(dense->weight.grad().defined());
}

// Dense and Conv1d route inference inputs through oneDNN; the result is the layer's.
TEST(CpuInferenceLinearTest, LayersEqualAnFp64Product) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "LibTorch without oneDNN";
  Dense dense(768, 2304, /*bias=*/true);
  Conv1d conv(768, 2304);
  for (auto* p : {&dense->weight, &dense->bias, &conv->weight, &conv->bias}) {
    torch::NoGradGuard no_grad;
    p->normal_(0.0, 0.05);
  }
  const auto x = torch::randn({64, 1, 768});
  const auto x64 = x.to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  ASSERT_TRUE(UseCpuInferenceLinear(x, dense->weight));
  ASSERT_TRUE(UseCpuInferenceLinear(x, conv->weight.t()));
  const auto dense_expect = torch::matmul(x64, dense->weight.to(torch::kFloat64).t()) + dense->bias.to(torch::kFloat64);
  const auto conv_expect = torch::matmul(x64, conv->weight.to(torch::kFloat64)) + conv->bias.to(torch::kFloat64);
  EXPECT_LT(MaxError(dense->forward(x), dense_expect), 1e-4);
  EXPECT_LT(MaxError(conv->forward(x), conv_expect), 1e-4);
}

}  // namespace
}  // namespace brain::model
