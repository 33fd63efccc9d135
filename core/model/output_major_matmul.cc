// Output-major decode matmuls: W_b·xᵀ per block of output features, transposed into y in tiles.
//
// Why: MKL runs W·xᵀ ([out, rows], the rows as its narrow dimension) faster than x·Wᵀ for few rows.
// Measured on 2 threads, time relative to torch (a standalone loop over gpt2-124m's 48 block matmuls,
// [out, in] weights / GPT-2's transposed Conv1D weights, and its 50257-row LM head):
//   rows:                    2      4      8     16     64    128    256
//   [out, in] weights      0.30   0.45   0.77   0.73   0.85      -      -
//   Conv1D (transposed)    5.5    2.6    4.8    0.86   0.87   0.88   1.00
//   LM head [V, d]         0.19   0.23   0.54   0.58   0.83   0.75   1.04
// (one row: 1.0). Below 512 input features the gain fades (d = 256: 0.92-0.99 at 64 rows).
#include "core/model/output_major_matmul.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>

namespace brain::model {
namespace {

constexpr int64_t kMinRows = 2;
constexpr int64_t kMinRowsTransposedWeight = 16;
constexpr int64_t kMaxRows = 128;
constexpr int64_t kMinInFeatures = 512;

// dst[r·ld + j] = src[j·cols + r] (+ bias[j]) for j < n, r < cols. Tiles of 16 source rows: ATen's
// strided copy of a transposed view runs at ~1 GB/s here, which would cost more than the matmul saves.
void TransposeInto(const float* src, int64_t n, int64_t cols, const float* bias, float* dst, int64_t ld) {
  constexpr int64_t kTile = 16;
  at::parallel_for(0, (n + kTile - 1) / kTile, 16, [&](int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end; ++tile) {
      const int64_t j0 = tile * kTile, j1 = std::min(n, j0 + kTile);
      for (int64_t r = 0; r < cols; ++r) {
        float* d = dst + r * ld;
        if (bias != nullptr) {
          for (int64_t j = j0; j < j1; ++j) d[j] = src[j * cols + r] + bias[j];
        } else {
          for (int64_t j = j0; j < j1; ++j) d[j] = src[j * cols + r];
        }
      }
    }
  });
}

bool HasUnitStride(const torch::Tensor& w) { return w.stride(0) == 1 || w.stride(1) == 1; }

}  // namespace

bool UseOutputMajorMatmul(const torch::Tensor& x, const torch::Tensor& weight) {
  const bool grad = at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  if (grad || !x.device().is_cpu() || !weight.device().is_cpu() || x.dim() < 1 || weight.dim() != 2 ||
      x.scalar_type() != torch::kFloat32 || weight.scalar_type() != torch::kFloat32 || x.numel() == 0 ||
      !HasUnitStride(weight)) {
    return false;
  }
  const int64_t rows = x.numel() / x.size(-1);
  const bool transposed = weight.stride(1) != 1;
  return x.size(-1) >= kMinInFeatures && rows >= (transposed ? kMinRowsTransposedWeight : kMinRows) &&
         rows <= kMaxRows;
}

torch::Tensor OutputMajorMatmul(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t out_features = weight.size(0), in_features = weight.size(1);
  TORCH_CHECK(x.size(-1) == in_features, "OutputMajorMatmul: x has ", x.size(-1), " features, weight ",
              weight.sizes());
  const auto x2 = x.reshape({-1, in_features}).contiguous();
  const int64_t rows = x2.size(0);
  const auto b = bias.defined() ? bias.contiguous() : bias;
  TORCH_CHECK(!b.defined() || b.numel() == out_features, "OutputMajorMatmul: bias ", b.sizes(),
              " for ", out_features, " outputs");
  auto out = torch::empty({rows, out_features}, x2.options());
  // Blocks of ~512 KB ([block, rows] fp32), e.g. 2048 output features for 64 rows, so each block is
  // still in cache when it is transposed. xᵀ is a view: MKL reads it transposed without a copy.
  const int64_t block = std::clamp<int64_t>((int64_t{1} << 17) / rows, 256, 4096);
  auto scratch = torch::empty({std::min(block, out_features), rows}, x2.options());
  const auto x_t = x2.t();
  for (int64_t start = 0; start < out_features; start += block) {
    const int64_t n = std::min(block, out_features - start);
    auto z = scratch.narrow(0, 0, n);
    at::mm_out(z, weight.narrow(0, start, n), x_t);
    TransposeInto(z.data_ptr<float>(), n, rows, b.defined() ? b.data_ptr<float>() + start : nullptr,
                  out.data_ptr<float>() + start, out_features);
  }
  auto sizes = x.sizes().vec();
  sizes.back() = out_features;
  return out.view(sizes);
}

}  // namespace brain::model
