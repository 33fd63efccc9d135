// Test helpers for the objectives: tensor construction, element checks, central finite differences.
#ifndef BRAIN_TESTS_UNIT_OBJECTIVES_OBJECTIVES_TEST_UTIL_H_
#define BRAIN_TESTS_UNIT_OBJECTIVES_OBJECTIVES_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace brain::objectives::testing {

// The tensors here are tiny: intra-op threads only add OpenMP barrier waits on a shared machine.
inline const bool kSingleThreaded = [] {
  torch::set_num_threads(1);
  return true;
}();

inline torch::Tensor D(const std::vector<double>& v, bool requires_grad = false) {
  return torch::tensor(v, torch::kFloat64).clone().set_requires_grad(requires_grad);
}

inline torch::Tensor D2(const std::vector<std::vector<double>>& rows) {
  std::vector<torch::Tensor> parts;
  for (const auto& r : rows) parts.push_back(torch::tensor(r, torch::kFloat64));
  return torch::stack(parts);
}

inline std::vector<double> ToVector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat64).contiguous().flatten();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

inline void ExpectAllNear(const torch::Tensor& actual, const std::vector<double>& expected, double tol,
                          const std::string& what) {
  const std::vector<double> a = ToVector(actual);
  ASSERT_EQ(a.size(), expected.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], expected[i], tol) << what << " [" << i << "]";
}

// Central finite differences of a scalar function of `x` (fp64), element by element.
inline torch::Tensor FiniteDifference(const std::function<double(const torch::Tensor&)>& f,
                                      const torch::Tensor& x, double h = 1e-6) {
  torch::Tensor base = x.detach().clone();
  torch::Tensor grad = torch::zeros_like(base);
  auto flat = base.view({-1});
  auto gflat = grad.view({-1});
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double v = flat[i].item<double>();
    flat[i] = v + h;
    const double up = f(base);
    flat[i] = v - h;
    const double down = f(base);
    flat[i] = v;
    gflat[i] = (up - down) / (2 * h);
  }
  return grad;
}

inline void ExpectTensorsNear(const torch::Tensor& a, const torch::Tensor& b, double tol,
                              const std::string& what) {
  ExpectAllNear(a, ToVector(b), tol, what);
}

}  // namespace brain::objectives::testing

#endif  // BRAIN_TESTS_UNIT_OBJECTIVES_OBJECTIVES_TEST_UTIL_H_
