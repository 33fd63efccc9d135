// CPU fp32 inference linear layers through LibTorch's registered oneDNN op mkldnn::_linear_pointwise.
//
// Time relative to torch::linear (2 threads, best of 5; gpt2-124m's 48 block matmuls with [out, in]
// weights, and its 50257 x 768 LM head):
//   rows:     1     2     8    16    64   128   256  1024
//   blocks  0.57  0.37  0.56  0.51  0.49  0.46  0.46  0.46
//   LM head 0.52  0.28  0.37  0.36  0.39  0.33  0.40  0.44
// GPT-2's Conv1D weights passed transposed: 0.39x torch::addmm at 64 rows. Results are fp32-accurate
// (|error| 8e-5 at outputs of magnitude 125, as MKL's 5e-5) and, unlike MKL's, a row's bits do not
// depend on the thread count, nor on the row count beyond one row.
#include "core/model/cpu_inference_linear.h"

#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/torch.h>

#include <optional>
#include <string>

namespace brain::model {
namespace {

// The op LibTorch registers for its own compiled CPU graphs; absent from builds without oneDNN.
const std::optional<c10::OperatorHandle>& LinearOp() {
  static const std::optional<c10::OperatorHandle> op = [] {
    std::optional<c10::OperatorHandle> found;
    if (at::hasMKLDNN()) found = c10::Dispatcher::singleton().findSchema({"mkldnn::_linear_pointwise", ""});
    return found;
  }();
  return op;
}

}  // namespace

bool UseCpuInferenceLinear(const torch::Tensor& x, const torch::Tensor& weight) {
  const bool grad = at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  if (grad || !x.device().is_cpu() || !weight.device().is_cpu() || x.dim() < 1 || weight.dim() != 2 ||
      x.scalar_type() != torch::kFloat32 || weight.scalar_type() != torch::kFloat32 || x.numel() == 0 ||
      (weight.stride(0) != 1 && weight.stride(1) != 1)) {
    return false;
  }
  return LinearOp().has_value();
}

torch::Tensor CpuInferenceLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t in_features = weight.size(1);
  TORCH_CHECK(x.size(-1) == in_features, "CpuInferenceLinear: x has ", x.size(-1), " features, weight ",
              weight.sizes());
  auto sizes = x.sizes().vec();
  sizes.back() = weight.size(0);
  torch::jit::Stack stack;
  stack.emplace_back(x.reshape({-1, in_features}).contiguous());
  stack.emplace_back(weight);
  stack.emplace_back(bias.defined() ? c10::IValue(bias.contiguous()) : c10::IValue());
  stack.emplace_back(std::string("none"));                 // no fused activation
  stack.emplace_back(c10::List<std::optional<c10::Scalar>>());  // its scalars
  stack.emplace_back(c10::IValue());                       // algorithm: none
  LinearOp()->callBoxed(&stack);
  return stack[0].toTensor().view(sizes);
}

}  // namespace brain::model
