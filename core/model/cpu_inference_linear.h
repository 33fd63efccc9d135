// Linear layers of CPU fp32 inference (generation, scoring, evaluation) on oneDNN's inner product.
//
// Why: on this project's machines (AMD EPYC, AVX-512) the MKL that LibTorch calls for fp32 matmuls
// takes its AVX2 code path (~200 GF/s on 2 threads), while oneDNN, also inside LibTorch, uses
// AVX-512 (~450 GF/s). At gpt2-124m's shapes oneDNN takes 0.39-0.57x torch::linear's time for 1 to
// 1024 rows (the file's .cc has the table). oneDNN has no autograd here, so training keeps torch.
#pragma once

#include <torch/types.h>

namespace brain::model {

// Whether CpuInferenceLinear serves x·Wᵀ: LibTorch has oneDNN, x and the weight are fp32 on the CPU,
// the weight is 2-D with a unit stride in one dimension, and no gradient is needed.
bool UseCpuInferenceLinear(const torch::Tensor& x, const torch::Tensor& weight);

// x [..., in] · weightᵀ + bias, with weight [out, in] (contiguous, or the transpose of a contiguous
// [in, out] as GPT-2's Conv1D stores it: oneDNN reads either in place) and bias [out] or undefined.
torch::Tensor CpuInferenceLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace brain::model
