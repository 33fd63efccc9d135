// SFT, Bradley–Terry reward model and DPO/cDPO/IPO against spec §2, finite differences, normalisers,
// non-finite guards, and the objective registry.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/objectives/dpo.h"
#include "core/objectives/registry.h"
#include "core/objectives/reward_model.h"
#include "core/objectives/sft.h"
#include "tests/unit/objectives/objectives_test_util.h"

namespace brain::objectives {
namespace {

using testing::D;
using testing::D2;
using testing::ExpectAllNear;
using testing::ExpectTensorsNear;
using testing::FiniteDifference;

constexpr double kTol = 1e-6;
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

Batch SftVector() {
  Batch b;
  b.token_logprobs =
      D2({{-0.5, -1.25, -2.0}, {-0.75, kNan, 0.0}}).set_requires_grad(true);  // padding: garbage
  b.mask = torch::tensor({{1, 1, 1}, {1, 0, 0}}, torch::kBool);
  return b;
}

TEST(Sft, SpecVectorAndGradient) {
  const SftObjective sft;
  Batch b = SftVector();
  const ObjectiveOutput out = sft.Compute(b, StepContext());
  EXPECT_NEAR(out.loss.item<double>(), 1.125, 1e-12);
  EXPECT_EQ(out.metrics.at("tokens"), 4.0);
  EXPECT_EQ(sft.CountUnits(b, StepContext()).tokens, 4);
  out.loss.backward();
  ExpectAllNear(b.token_logprobs.grad(), {-0.25, -0.25, -0.25, -0.25, 0, 0}, 1e-15, "grad");
  ExpectAllNear(out.sequence_weights, {-0.25, -0.25}, 1e-15, "weights");
  // Micro-batches with the global token count: the two rows separately sum to the full loss.
  StepContext context;
  context.global.tokens = 4;
  Batch first = SftVector(), second = SftVector();
  first.token_logprobs = first.token_logprobs.detach().slice(0, 0, 1);
  first.mask = first.mask.slice(0, 0, 1);
  second.token_logprobs = second.token_logprobs.detach().slice(0, 1, 2);
  second.mask = second.mask.slice(0, 1, 2);
  EXPECT_NEAR(
      sft.Compute(first, context).loss.item<double>() + sft.Compute(second, context).loss.item<double>(),
      1.125, 1e-12);
  // A NaN response token is dropped and counted.
  Batch bad = SftVector();
  bad.token_logprobs = bad.token_logprobs.detach().clone();
  bad.token_logprobs[0][1] = kNan;
  const ObjectiveOutput dropped = sft.Compute(bad, StepContext());
  EXPECT_EQ(dropped.metrics.at("dropped"), 1.0);
  EXPECT_NEAR(dropped.loss.item<double>(), (0.5 + 2.0 + 0.75) / 3, 1e-12);
}

Batch RewardPair(double chosen, double rejected) {
  Batch b;
  b.rewards = D({chosen, rejected}, true);
  return b;
}

TEST(RewardModel, SpecVectorsMarginAndGradient) {
  config::RewardModelConfig c;
  EXPECT_NEAR(RewardModelObjective(c).Compute(RewardPair(0.9, -0.3), StepContext()).loss.item<double>(),
              0.263282, kTol);
  c.set_margin(0.5);
  EXPECT_NEAR(RewardModelObjective(c).Compute(RewardPair(0.9, -0.3), StepContext()).loss.item<double>(),
              0.403186, kTol);
  // Per-pair margins from data.
  config::RewardModelConfig data_margin;
  data_margin.set_use_data_margin(true);
  Batch b;
  b.rewards = D({0.9, 0.2, -0.3, 0.2}, true);
  b.margins = D({0.5, 0.0});
  const RewardModelObjective rm(data_margin);
  const ObjectiveOutput out = rm.Compute(b, StepContext());
  EXPECT_NEAR(out.loss.item<double>(), (0.403186 + std::log(2.0)) / 2, kTol);
  EXPECT_EQ(out.metrics.at("accuracy"), 0.75);  // one win, one tie
  out.loss.backward();
  const torch::Tensor fd = FiniteDifference(
      [&](const torch::Tensor& x) {
        Batch p = b;
        p.rewards = x;
        return rm.Compute(p, StepContext()).loss.item<double>();
      },
      b.rewards);
  ExpectTensorsNear(b.rewards.grad(), fd, 1e-9, "BT gradient");
}

Batch DpoVector() {
  Batch b;
  b.sequence_logprobs = D({-20.4, -25.0}, true);
  b.reference_logprobs = D({-21.0, -24.1});
  return b;
}

double DpoLoss(double beta, double eps, config::DpoConfig::Loss loss) {
  config::DpoConfig c;
  c.set_beta(beta);
  c.set_label_smoothing(eps);
  c.set_loss(loss);
  return DpoObjective(c).Compute(DpoVector(), StepContext()).loss.item<double>();
}

TEST(Dpo, SpecVectors) {
  EXPECT_NEAR(DpoLoss(0.1, 0.0, config::DpoConfig::SIGMOID), 0.620957, kTol);
  EXPECT_NEAR(DpoLoss(0.1, 0.1, config::DpoConfig::SIGMOID), 0.635957, kTol);
  EXPECT_NEAR(DpoLoss(0.1, 0.0, config::DpoConfig::IPO), 12.250000, kTol);
  EXPECT_NEAR(DpoLoss(0.5, 0.0, config::DpoConfig::SIGMOID), 0.386871, kTol);
  EXPECT_NEAR(DpoLoss(0.5, 0.0, config::DpoConfig::IPO), 0.250000, kTol);
  config::DpoConfig c;
  const DpoObjective dpo(c);
  EXPECT_NEAR(dpo.PairLossGradient(D({1.5})).item<double>(), -0.046257, kTol);
  const ObjectiveOutput out = dpo.Compute(DpoVector(), StepContext());
  ExpectAllNear(out.sequence_weights, {-0.046257, 0.046257}, kTol, "dL/dlogpi");
  EXPECT_EQ(out.metrics.at("accuracy"), 1.0);
  EXPECT_NEAR(out.metrics.at("reward_margin"), 0.15, 1e-12);
}

TEST(Dpo, GradientsMatchFiniteDifferencesAndWeights) {
  torch::manual_seed(3);
  for (const auto loss : {config::DpoConfig::SIGMOID, config::DpoConfig::IPO}) {
    for (const double eps : {0.0, 0.2}) {
      config::DpoConfig c;
      c.set_beta(0.3);
      c.set_label_smoothing(eps);
      c.set_loss(loss);
      const DpoObjective dpo(c);
      Batch b;
      b.token_logprobs = (-3.0 * torch::rand({6, 4}, torch::kFloat64)).set_requires_grad(true);
      b.mask = torch::rand({6, 4}) > 0.3;
      b.reference_logprobs = -5.0 * torch::rand({6}, torch::kFloat64);
      const ObjectiveOutput out = dpo.Compute(b, StepContext());
      out.loss.backward();
      const torch::Tensor fd = FiniteDifference(
          [&](const torch::Tensor& x) {
            Batch p = b;
            p.token_logprobs = x;
            return dpo.Compute(p, StepContext()).loss.item<double>();
          },
          b.token_logprobs);
      ExpectTensorsNear(b.token_logprobs.grad(), fd, 1e-7,
                        "DPO gradient");  // IPO losses ~10: FD rounding ~1e-9
      ExpectTensorsNear(b.token_logprobs.grad(), out.sequence_weights.unsqueeze(1) * b.mask, 1e-15,
                        "weights");
    }
  }
}

TEST(Dpo, NonFinitePairIsDropped) {
  Batch b;
  b.sequence_logprobs = D({-20.4, kNan, -25.0, -3.0}, true);
  b.reference_logprobs = D({-21.0, -2.0, -24.1, -2.5});
  config::DpoConfig c;
  const DpoObjective dpo(c);
  EXPECT_EQ(dpo.CountUnits(b, StepContext()).pairs, 1);
  const ObjectiveOutput out = dpo.Compute(b, StepContext());
  EXPECT_EQ(out.metrics.at("dropped"), 1.0);
  EXPECT_NEAR(out.loss.item<double>(), 0.620957, kTol);
  out.loss.backward();
  EXPECT_TRUE(torch::isfinite(b.sequence_logprobs.grad()).all().item<bool>());
}

TEST(Sft, GradientMatchesFiniteDifferences) {
  torch::manual_seed(4);
  Batch b;
  b.token_logprobs = (-2.0 * torch::rand({3, 5}, torch::kFloat64)).set_requires_grad(true);
  b.mask = torch::rand({3, 5}) > 0.4;
  const SftObjective sft;
  sft.Compute(b, StepContext()).loss.backward();
  const torch::Tensor fd = FiniteDifference(
      [&](const torch::Tensor& x) {
        Batch p = b;
        p.token_logprobs = x;
        return sft.Compute(p, StepContext()).loss.item<double>();
      },
      b.token_logprobs);
  ExpectTensorsNear(b.token_logprobs.grad(), fd, 1e-9, "SFT gradient");
}

TEST(Registry, EveryAlgorithmCaseHasAnObjective) {
  EXPECT_EQ(RegisteredAlgorithms().size(), 5u);
  config::ExperimentConfig c;
  EXPECT_FALSE(CreateObjective(c).ok());
  c.mutable_sft();
  EXPECT_EQ((*CreateObjective(c))->Name(), "sft");
  c.mutable_reward_model();
  EXPECT_EQ((*CreateObjective(c))->Name(), "reward_model");
  c.mutable_dpo();
  EXPECT_EQ((*CreateObjective(c))->Name(), "dpo");
  c.mutable_ava();
  EXPECT_EQ((*CreateObjective(c))->Name(), "ava");
  c.mutable_brain();
  EXPECT_EQ((*CreateObjective(c))->Name(), "brain");
  c.mutable_brain()->set_beta_pol(0.5);
  c.mutable_brain()->set_baseline(config::BrainConfig::NONE);
  const auto bad = CreateObjective(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("brain.beta_pol"), std::string::npos);
}

}  // namespace
}  // namespace brain::objectives
