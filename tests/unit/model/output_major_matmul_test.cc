// OutputMajorMatmul (the decode-step matmuls of Dense, Conv1d and the LM head) against fp64 products,
// and which inputs take it.
#include "core/model/output_major_matmul.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "core/model/layers.h"

namespace brain::model {
namespace {

double MaxError(const torch::Tensor& got, const torch::Tensor& expect) {
  return (got.to(torch::kFloat64) - expect).abs().max().item<double>();
}

// Both weight layouts, with and without bias, over row counts that make one block (16 rows: 4096 per
// block), several with a partial last one (64 and 128 rows: 2048 and 1024 per block; 5003 outputs),
// and leading dimensions that must be kept.
TEST(OutputMajorMatmulTest, EqualsAnFp64ProductForBothWeightLayouts) {
  torch::manual_seed(7);
  const int64_t in = 512, out = 5003;
  const auto w_out_in = torch::randn({out, in}) * 0.05;
  const auto w_in_out = torch::randn({in, out}) * 0.05;  // GPT-2's Conv1D layout, passed transposed
  const auto bias = torch::randn({out});
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{16, in}, {64, 1, in}, {4, 32, in}}) {
    const auto x = torch::randn(shape);
    for (const auto& weight : {w_out_in, w_in_out.t()}) {
      for (const bool with_bias : {false, true}) {
        auto expect = torch::matmul(x.to(torch::kFloat64), weight.to(torch::kFloat64).t());
        if (with_bias) expect = expect + bias.to(torch::kFloat64);
        const auto got = OutputMajorMatmul(x, weight, with_bias ? bias : torch::Tensor());
        ASSERT_EQ(got.sizes(), expect.sizes());
        EXPECT_LT(MaxError(got, expect), 1e-4) << x.sizes() << " weight strides " << weight.strides()
                                               << " bias " << with_bias;
      }
    }
  }
}

TEST(OutputMajorMatmulTest, ServesFewInferenceRowsOfWideInputsOnly) {
  const auto w = torch::randn({600, 512});
  const auto w_t = torch::randn({512, 600}).t();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(UseOutputMajorMatmul(torch::randn({2, 512}), w));
  EXPECT_TRUE(UseOutputMajorMatmul(torch::randn({128, 512}), w));
  EXPECT_TRUE(UseOutputMajorMatmul(torch::randn({16, 512}), w_t));
  EXPECT_FALSE(UseOutputMajorMatmul(torch::randn({1, 512}), w));      // one row: no gain
  EXPECT_FALSE(UseOutputMajorMatmul(torch::randn({129, 512}), w));    // many rows: the transpose costs
  EXPECT_FALSE(UseOutputMajorMatmul(torch::randn({8, 512}), w_t));    // transposed weight, few rows
  EXPECT_FALSE(UseOutputMajorMatmul(torch::randn({64, 256}), torch::randn({600, 256})));  // narrow input
  EXPECT_FALSE(UseOutputMajorMatmul(torch::randn({64, 512}, torch::kFloat64), w.to(torch::kFloat64)));
}

TEST(OutputMajorMatmulTest, AutogradKeepsTorchsMatmul) {
  Dense dense(512, 600, /*bias=*/true);
  torch::nn::init::normal_(dense->weight, 0.0, 0.05);
  const auto x = torch::randn({64, 512});
  EXPECT_FALSE(UseOutputMajorMatmul(x, dense->weight));  // the weight requires grad
  const auto y = dense->forward(x);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  EXPECT_TRUE(dense->weight.grad().defined());
}

// Dense and Conv1d route inference inputs through the output-major path; the result is the layer's.
TEST(OutputMajorMatmulTest, LayersEqualAnFp64Product) {
  Dense dense(768, 2304, /*bias=*/true);
  Conv1d conv(768, 2304);
  for (auto* p : {&dense->weight, &dense->bias, &conv->weight, &conv->bias}) {
    torch::NoGradGuard no_grad;
    p->normal_(0.0, 0.05);
  }
  const auto x = torch::randn({64, 1, 768});
  const auto x64 = x.to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  ASSERT_TRUE(UseOutputMajorMatmul(x, dense->weight));
  ASSERT_TRUE(UseOutputMajorMatmul(x, conv->weight.t()));
  const auto dense_expect = torch::matmul(x64, dense->weight.to(torch::kFloat64).t()) + dense->bias.to(torch::kFloat64);
  const auto conv_expect = torch::matmul(x64, conv->weight.to(torch::kFloat64)) + conv->bias.to(torch::kFloat64);
  EXPECT_LT(MaxError(dense->forward(x), dense_expect), 1e-4);
  EXPECT_LT(MaxError(conv->forward(x), conv_expect), 1e-4);
}

}  // namespace
}  // namespace brain::model
