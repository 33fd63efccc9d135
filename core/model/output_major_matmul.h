// Inference matmuls of a decode step's few rows, computed output-major: y = x·Wᵀ + b as
// yᵀ = W·xᵀ per block of output features, transposed (with the bias added) into y.
#pragma once

#include <torch/types.h>

namespace brain::model {

// Whether OutputMajorMatmul should serve x·Wᵀ: CPU fp32 without autograd, at least 512 input
// features, and 2..128 rows (the product of x's leading dimensions) for a contiguous [out, in] weight,
// 16..128 for a transposed one. Elsewhere torch's own matmul is as fast or faster.
bool UseOutputMajorMatmul(const torch::Tensor& x, const torch::Tensor& weight);

// x [..., in] · weightᵀ + bias, with weight [out, in] (contiguous, or the transpose of a contiguous
// [in, out] as GPT-2's Conv1D stores it) and bias [out] or undefined. Returns [..., out].
torch::Tensor OutputMajorMatmul(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace brain::model
