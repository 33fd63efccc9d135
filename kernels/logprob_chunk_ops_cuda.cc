// CUDA per-chunk steps: cuBLAS matmuls through ATen, fused row kernels from kernels/cuda/ on the stream.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "kernels/cuda/logprob_kernels.h"
#include "kernels/logprob_chunk_ops.h"

namespace brain::kernels::internal {
namespace {

void CheckLaunch(cudaError_t err, const char* what) {
  TORCH_CHECK(err == cudaSuccess, "brain::kernels ", what, " launch failed: ", cudaGetErrorString(err));
}

}  // namespace

at::Tensor ChunkLogitsCuda(const at::Tensor& hidden_chunk, const at::Tensor& weight) {
  if (hidden_chunk.scalar_type() == at::kFloat) return at::mm(hidden_chunk, weight.t());
  // Half/bf16 inputs: cuBLAS accumulates and writes fp32, no rounded half-precision logits.
  return at::mm(hidden_chunk, weight.t(), at::kFloat);
}

void ChunkRowStatsCuda(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index,
                       at::Tensor lse, at::Tensor logprob, at::Tensor entropy) {
  TORCH_CHECK(logits.is_contiguous() && lse.is_contiguous() && logprob.is_contiguous(),
              "ChunkRowStatsCuda expects contiguous tensors");
  const c10::cuda::CUDAGuard guard(logits.device());
  const at::Tensor t = targets.contiguous();
  CheckLaunch(brain::kernels::cuda::LaunchRowLogSumExp(
                  logits.data_ptr<float>(), logits.size(0), logits.size(1), t.data_ptr<int64_t>(),
                  ignore_index, lse.data_ptr<float>(), logprob.data_ptr<float>(),
                  entropy.defined() ? entropy.data_ptr<float>() : nullptr,
                  c10::cuda::getCurrentCUDAStream(logits.device().index()).stream()),
              "row log-sum-exp");
}

void ChunkLogitGradInPlaceCuda(at::Tensor& logits, const at::Tensor& lse, const at::Tensor& grad,
                               const at::Tensor& targets, int64_t ignore_index) {
  TORCH_CHECK(logits.is_contiguous(), "ChunkLogitGradInPlaceCuda expects contiguous logits");
  const c10::cuda::CUDAGuard guard(logits.device());
  const at::Tensor l = lse.contiguous();
  const at::Tensor g = grad.to(at::kFloat).contiguous();
  const at::Tensor t = targets.contiguous();
  CheckLaunch(brain::kernels::cuda::LaunchLogitGradInPlace(
                  logits.data_ptr<float>(), logits.size(0), logits.size(1), l.data_ptr<float>(),
                  g.data_ptr<float>(), t.data_ptr<int64_t>(), ignore_index,
                  c10::cuda::getCurrentCUDAStream(logits.device().index()).stream()),
              "logit gradient");
}

}  // namespace brain::kernels::internal
