// Fused CUDA kernels for the chunked weighted log-likelihood: row log-sum-exp + gather, logit gradient.
#include "kernels/cuda/logprob_kernels.h"
#include "kernels/logprob_row_math.h"

namespace brain::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void RowLogSumExpKernel(const float* __restrict__ logits, int64_t cols,
                                   const int64_t* __restrict__ targets, int64_t ignore_index,
                                   float* __restrict__ lse, float* __restrict__ logprob,
                                   float* __restrict__ entropy) {
  __shared__ LseState partial[kThreads];
  const int64_t row = blockIdx.x;
  const float* z = logits + row * cols;
  LseState state = LseStateEmpty();
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) LseStatePush(state, z[j]);
  partial[threadIdx.x] = state;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      partial[threadIdx.x] = LseStateMerge(partial[threadIdx.x], partial[threadIdx.x + stride]);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const LseState total = partial[0];
    const float row_lse = LseStateLogSumExp(total);
    lse[row] = row_lse;
    const int64_t target = targets[row];
    logprob[row] = (target == ignore_index) ? 0.0f : z[target] - row_lse;
    if (entropy != nullptr) entropy[row] = LseStateEntropy(total);
  }
}

__global__ void LogitGradKernel(float* __restrict__ logits, int64_t cols, const float* __restrict__ lse,
                                const float* __restrict__ grad, const int64_t* __restrict__ targets,
                                int64_t ignore_index) {
  const int64_t row = blockIdx.x;
  float* z = logits + row * cols;
  const int64_t target = targets[row];
  const bool ignored = (target == ignore_index);
  const float g = ignored ? 0.0f : grad[row];
  const float row_lse = lse[row];
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    z[j] = ignored ? 0.0f : LogitGradient(z[j], row_lse, g, j == target);
  }
}

}  // namespace

cudaError_t LaunchRowLogSumExp(const float* logits, int64_t rows, int64_t cols, const int64_t* targets,
                               int64_t ignore_index, float* lse, float* logprob, float* entropy,
                               cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  RowLogSumExpKernel<<<static_cast<unsigned int>(rows), kThreads, 0, stream>>>(
      logits, cols, targets, ignore_index, lse, logprob, entropy);
  return cudaGetLastError();
}

cudaError_t LaunchLogitGradInPlace(float* logits, int64_t rows, int64_t cols, const float* lse,
                                   const float* grad, const int64_t* targets, int64_t ignore_index,
                                   cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  LogitGradKernel<<<static_cast<unsigned int>(rows), kThreads, 0, stream>>>(logits, cols, lse, grad, targets,
                                                                            ignore_index);
  return cudaGetLastError();
}

}  // namespace brain::kernels::cuda
