// The gradient-variance toy of spec §6: DPG-like, GDC++-like and BRAIn estimators of ∂/∂θ on Gaussians.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "core/objectives/brain.h"
#include "tests/unit/objectives/objectives_test_util.h"

namespace brain::objectives {
namespace {

constexpr int kSamples = 8;  // n per estimate
constexpr int kRepetitions = 20000;
constexpr double kTheta = 1.0;  // policy N(θ, 1); posterior p* = N(0, 1)
constexpr uint64_t kSeed = 20240207;

torch::Tensor LogNormal(const torch::Tensor& y, double mean) {
  return -0.5 * (y - mean).square() - 0.5 * std::log(2.0 * M_PI);
}

struct Estimates {
  torch::Tensor dpg, gdc, brain;  // [repetitions] each (ascent directions)
};

// Draws kRepetitions groups of n samples from q' = N(μ, 1) and evaluates the three estimators.
Estimates Estimate(double mu, torch::Generator& gen) {
  const torch::Tensor y = mu + torch::randn({kRepetitions, kSamples}, gen, torch::kFloat64);
  const torch::Tensor score = y - kTheta;
  const torch::Tensor log_p = LogNormal(y, 0.0), log_q = LogNormal(y, kTheta), log_prop = LogNormal(y, mu);
  Estimates e;
  e.dpg = (torch::exp(log_p - log_prop) * score).mean(1);
  e.gdc = ((torch::exp(log_p - log_prop) - torch::exp(log_q - log_prop)) * score).mean(1);
  // BRAIn through the objective: the prior is p*, the reward 0, the policy q_θ, the proposal q'.
  // Its coefficient G·c_i = β̂_i − α̂_i is minus the ascent weight of the score.
  Batch b;
  b.prior_logprobs = log_p.flatten();
  b.rewards = torch::zeros({kRepetitions * kSamples}, torch::kFloat64);
  b.proposal_logprobs = log_prop.flatten();
  b.sequence_logprobs = log_q.flatten();
  b.group_ids = torch::arange(kRepetitions).repeat_interleave(kSamples);
  b.num_groups = kRepetitions;
  const ObjectiveOutput out = BrainObjective(config::BrainConfig()).Compute(b, StepContext());
  e.brain = -(out.sequence_weights.view({kRepetitions, kSamples}) * kRepetitions * score).sum(1);
  return e;
}

double VarDpg(double mu) { return (std::exp(mu * mu) * ((1 + mu) * (1 + mu) + 1) - 1) / kSamples; }

double VarGdc(double mu) {
  return (std::exp(mu * mu) * ((1 + mu) * (1 + mu) + 1) - 2 * std::exp(mu * mu - mu) * (mu * mu + 1) +
          std::exp((1 - mu) * (1 - mu)) * ((1 - mu) * (1 - mu) + 1) - 1) /
         kSamples;
}

TEST(GradientVarianceToy, ClosedFormsMatchTheSpecTable) {
  EXPECT_NEAR(VarDpg(0.0), 0.125000, 1e-6);
  EXPECT_NEAR(VarDpg(0.5), 0.396635, 1e-6);
  EXPECT_NEAR(VarDpg(1.0), 1.573926, 1e-6);
  EXPECT_NEAR(VarGdc(0.0), 0.554570, 1e-6);
  EXPECT_NEAR(VarGdc(0.5), 0.353889, 1e-6);
  EXPECT_NEAR(VarGdc(1.0), 1.198926, 1e-6);
}

TEST(GradientVarianceToy, BrainVarianceStaysFlatWhileDpgGrows) {
  torch::Generator gen = torch::make_generator<at::CPUGeneratorImpl>(kSeed);
  double var_dpg_1 = 0, var_brain_1 = 0;
  for (int k = 0; k < 20; ++k) {
    const double mu = k / 19.0;
    const Estimates e = Estimate(mu, gen);
    const double dpg_mean = e.dpg.mean().item<double>(), gdc_mean = e.gdc.mean().item<double>();
    const double var_dpg = e.dpg.var().item<double>(), var_gdc = e.gdc.var().item<double>();
    const double var_brain = e.brain.var().item<double>();
    SCOPED_TRACE(::testing::Message()
                 << "mu = " << mu << ": DPG " << dpg_mean << " / " << var_dpg << ", GDC++ " << gdc_mean
                 << " / " << var_gdc << ", BRAIn " << e.brain.mean().item<double>() << " / " << var_brain);
    EXPECT_NEAR(dpg_mean, -1.0, 0.05);
    EXPECT_NEAR(gdc_mean, -1.0, 0.05);
    EXPECT_GE(var_brain, 0.15);
    EXPECT_LE(var_brain, 0.22);
    if (k == 0 || k == 19) {
      std::printf(
          "mu=%.3f  DPG mean %.4f var %.4f (exact %.4f)  GDC++ mean %.4f var %.4f (exact %.4f)  "
          "BRAIn mean %.4f var %.4f\n",
          mu, dpg_mean, var_dpg, VarDpg(mu), gdc_mean, var_gdc, VarGdc(mu), e.brain.mean().item<double>(),
          var_brain);
      EXPECT_NEAR(var_dpg / VarDpg(mu), 1.0, 0.25);
      EXPECT_NEAR(var_gdc / VarGdc(mu), 1.0, 0.30);
    }
    if (k == 19) {
      var_dpg_1 = var_dpg;
      var_brain_1 = var_brain;
    }
  }
  EXPECT_GT(var_dpg_1, 5.0 * var_brain_1);
}

}  // namespace
}  // namespace brain::objectives
