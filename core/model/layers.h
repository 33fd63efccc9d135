// Parameter-holding building blocks named and shaped like HF's (so state-dict keys match checkpoints).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <string>

namespace brain::model {

// nn.Linear layout: weight [out, in], optional bias [out]. y = x W^T + b.
class DenseImpl : public torch::nn::Module {
 public:
  DenseImpl(int64_t in, int64_t out, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(Dense);

// GPT-2's Conv1D layout: weight [in, out], bias [out]. y = x W + b.
class Conv1dImpl : public torch::nn::Module {
 public:
  Conv1dImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(Conv1d);

// LayerNorm (weight and bias) over the last dimension.
class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  double eps;
};
TORCH_MODULE(LayerNorm);

// RMSNorm as Llama computes it: normalise in fp32, cast back, then scale by the weight.
class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RmsNorm);

// A lookup table: weight [num, dim].
class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t num, int64_t dim);
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight;
};
TORCH_MODULE(Embedding);

// The activation named in config.json (validated by ValidateModelConfig).
torch::Tensor Activation(const std::string& name, const torch::Tensor& x);

}  // namespace brain::model
