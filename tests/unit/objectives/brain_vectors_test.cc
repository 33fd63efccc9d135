// BRAIn against the test vectors of spec §3.8 (weights, loss, coefficients, metrics, DPO equivalence).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/objectives/brain.h"
#include "core/objectives/dpo.h"
#include "tests/unit/objectives/objectives_test_util.h"

namespace brain::objectives {
namespace {

using config::BrainConfig;
using testing::D;
using testing::ExpectAllNear;
using testing::ToVector;

constexpr double kTol = 1e-6;
constexpr double kInf = std::numeric_limits<double>::infinity();

// The spec's single group of n = 4.
Batch SpecGroup(std::vector<double> rewards = {0.8, 2.1, -0.3, 1.5}) {
  Batch b;
  b.prior_logprobs = D({-12.0, -15.5, -9.25, -20.0});
  b.proposal_logprobs = D({-11.0, -16.0, -9.75, -18.5});
  b.sequence_logprobs = D({-10.5, -15.0, -10.0, -19.0}, /*requires_grad=*/true);
  b.rewards = D(rewards);
  b.group_ids = torch::zeros({4}, torch::kLong);
  b.num_groups = 1;
  return b;
}

BrainConfig Config(double tau = 1.0, BrainConfig::Baseline baseline = BrainConfig::SELF_NORMALIZED,
                   BrainConfig::AlphaMode alpha_mode = BrainConfig::SOFTMAX, double beta_pol = 1.0) {
  BrainConfig c;
  c.set_tau(tau);
  c.set_baseline(baseline);
  c.set_alpha_mode(alpha_mode);
  c.set_beta_pol(beta_pol);
  return c;
}

struct Case {
  BrainConfig config;
  Batch batch;
};

void ExpectRow(const BrainConfig& config, const Batch& batch, const std::vector<double>& alpha, double loss,
               const std::vector<double>& coefficient) {
  const BrainObjective brain(config);
  ExpectAllNear(brain.ComputeAlpha(batch, StepContext()).alpha, alpha, kTol, "alpha");
  const ObjectiveOutput out = brain.Compute(batch, StepContext());
  EXPECT_NEAR(out.loss.item<double>(), loss, kTol);
  EXPECT_NEAR(out.metrics.at("loss"), loss, kTol);
  ExpectAllNear(out.sequence_weights, coefficient, kTol, "G*c");  // G = 1
}

TEST(BrainVectors, WeightsAndTau1) {
  const BrainObjective brain(Config());
  ExpectAllNear(brain.LogTargetWeights(SpecGroup()), {-0.2, 2.6, 0.2, 0.0}, 1e-12, "a");
  ExpectRow(Config(), SpecGroup(), {0.049608, 0.815793, 0.074007, 0.060592}, 0.957807,
            {0.237009, -0.343240, 0.061382, 0.044849});
  // β̂ = G·c/β_pol + α̂ for SELF_NORMALIZED.
  const ObjectiveOutput out = brain.Compute(SpecGroup(), StepContext());
  ExpectAllNear(out.sequence_weights + brain.ComputeAlpha(SpecGroup(), StepContext()).alpha,
                {0.286618, 0.472553, 0.135389, 0.105441}, kTol, "beta_hat");
  EXPECT_NEAR(out.metrics.at("ess_mean"), 1.476828, kTol);
  EXPECT_NEAR(out.metrics.at("ess_min"), 1.476828, kTol);
  EXPECT_NEAR(out.metrics.at("d_sn"), 0.280152, kTol);
  EXPECT_NEAR(out.metrics.at("max_alpha_mean"), 0.815793, kTol);
  EXPECT_NEAR(brain.ComputeAlpha(SpecGroup(), StepContext()).entropy.item<double>(), 0.677654, kTol);
  EXPECT_EQ(out.metrics.at("dropped"), 0.0);
  EXPECT_NEAR(out.metrics.at("reward_mean"), (0.8 + 2.1 - 0.3 + 1.5) / 4, 1e-12);
  EXPECT_NEAR(out.metrics.at("kl_estimate"), (1.0 - 0.5 - 0.5 + 1.5) / 4, 1e-12);
}

TEST(BrainVectors, Tau05) {
  ExpectRow(Config(0.5), SpecGroup(), {0.015553, 0.938470, 0.007723, 0.038254}, 0.824418,
            {0.271065, -0.465917, 0.127665, 0.067187});
  const ObjectiveOutput out = BrainObjective(Config(0.5)).Compute(SpecGroup(), StepContext());
  EXPECT_NEAR(out.metrics.at("ess_mean"), 1.133157, kTol);
}

TEST(BrainVectors, BaselineNone) {
  ExpectRow(Config(1.0, BrainConfig::NONE), SpecGroup(), {0.049608, 0.815793, 0.074007, 0.060592}, 0.957807,
            {-0.049608, -0.815793, -0.074007, -0.060592});
}

TEST(BrainVectors, BaselineUnnormalized) {
  const BrainConfig config = Config(1.0, BrainConfig::UNNORMALIZED);
  ExpectRow(config, SpecGroup(), {0.049608, 0.815793, 0.074007, 0.060592}, 0.957807,
            {0.362572, -0.136222, 0.120693, 0.091041});
  const BrainObjective brain(config);
  const ObjectiveOutput out = brain.Compute(SpecGroup(), StepContext());
  EXPECT_NEAR(out.sequence_weights.sum().item<double>(), 0.438084, kTol);
  ExpectAllNear(out.sequence_weights + brain.ComputeAlpha(SpecGroup(), StepContext()).alpha,
                {0.412180, 0.679570, 0.194700, 0.151633}, kTol, "ratio/n");
  // The surrogate loss's autograd gradient is the coefficient.
  Batch b = SpecGroup();
  brain.Compute(b, StepContext()).loss.backward();
  ExpectAllNear(b.sequence_logprobs.grad(), {0.362572, -0.136222, 0.120693, 0.091041}, kTol, "grad");
}

TEST(BrainVectors, SigmoidLikelihood) {
  BrainConfig config = Config();
  config.set_likelihood(BrainConfig::SIGMOID);
  Batch b = SpecGroup();
  b.reference_rewards = torch::full({4}, 1.0, torch::kFloat64);
  ExpectAllNear(BrainObjective(config).LogLikelihood(b), {-0.798139, -0.287335, -1.541008, -0.474077}, kTol,
                "log l");
  ExpectRow(config, b, {0.087412, 0.652905, 0.186374, 0.073309}, 1.136244,
            {0.199206, -0.180352, -0.050986, 0.032131});
  b.rewards = b.rewards + 3.0;  // no invariance under the sigmoid form
  EXPECT_NEAR(BrainObjective(config).Compute(b, StepContext()).loss.item<double>(), 1.375667, kTol);
}

TEST(BrainVectors, Argmax) {
  ExpectRow(Config(1.0, BrainConfig::SELF_NORMALIZED, BrainConfig::ARGMAX), SpecGroup(), {0, 1, 0, 0},
            0.749606, {0.286618, -0.527447, 0.135389, 0.105441});
}

TEST(BrainVectors, BetaPol05) {
  const BrainConfig config = Config(1.0, BrainConfig::SELF_NORMALIZED, BrainConfig::SOFTMAX, 0.5);
  const BrainObjective brain(config);
  const ObjectiveOutput out = brain.Compute(SpecGroup(), StepContext());
  EXPECT_NEAR(out.loss.item<double>(), 1.128861, kTol);
  ExpectAllNear(out.sequence_weights, {0.114945, -0.228455, 0.059044, 0.054466}, kTol, "G*c");
  ExpectAllNear(out.sequence_weights / 0.5 + brain.ComputeAlpha(SpecGroup(), StepContext()).alpha,
                {0.279498, 0.358882, 0.192096, 0.169524}, kTol, "beta_hat");
}

TEST(BrainVectors, Constraint) {
  BrainConfig config = Config();
  config.set_likelihood(BrainConfig::CONSTRAINT);
  const Batch b = SpecGroup({1.0, 0.0, 1.0, 0.0});  // judge: log l = [0, −∞, 0, −∞]
  const BrainObjective brain(config);
  const torch::Tensor log_l = brain.LogLikelihood(b);
  EXPECT_EQ(ToVector(log_l)[1], -kInf);
  EXPECT_EQ(ToVector(log_l)[0], 0.0);
  ExpectAllNear(brain.ComputeAlpha(b, StepContext()).alpha, {0.182426, 0, 0.817574, 0}, kTol, "alpha");
  const ObjectiveOutput out = brain.Compute(b, StepContext());
  EXPECT_NEAR(out.loss.item<double>(), 1.862787, kTol);
  EXPECT_EQ(out.metrics.at("dropped"), 0.0);
}

TEST(BrainVectors, InvarianceShiftsAndPosterior) {
  const BrainObjective brain(Config());
  auto loss = [&](const Batch& b) { return brain.Compute(b, StepContext()).loss.item<double>(); };
  EXPECT_NEAR(loss(SpecGroup()), 0.957806553, 1e-9);
  Batch b = SpecGroup();
  b.sequence_logprobs = (b.sequence_logprobs + 7.0).detach();
  EXPECT_NEAR(loss(b), 0.957806553, 1e-9);
  b = SpecGroup();
  b.rewards = b.rewards - 3.0;
  EXPECT_NEAR(loss(b), 0.957806553, 1e-9);
  b = SpecGroup();
  b.prior_logprobs = b.prior_logprobs + 5.0;
  EXPECT_NEAR(loss(b), 0.957806553, 1e-9);
  b = SpecGroup();
  b.proposal_logprobs = b.proposal_logprobs - 2.0;
  EXPECT_NEAR(loss(b), 0.957806553, 1e-9);
  // log q_θ = log p + r + 4.2: the posterior, zero coefficient.
  b = SpecGroup();
  b.sequence_logprobs = (b.prior_logprobs + b.rewards + 4.2).set_requires_grad(true);
  const ObjectiveOutput out = brain.Compute(b, StepContext());
  EXPECT_LT(out.sequence_weights.abs().max().item<double>(), 1e-15);
  out.loss.backward();
  EXPECT_LT(b.sequence_logprobs.grad().abs().max().item<double>(), 1e-15);
}

// §3.4: ARGMAX + n = 2 + q' = p is DPO with β_DPO = β_pol; SOFTMAX is cDPO with ε = σ(−Δr/τ).
Batch DpoGroup() {
  Batch b;
  b.prior_logprobs = D({-12.0, -15.5});
  b.proposal_logprobs = D({-12.0, -15.5});
  b.sequence_logprobs = D({-10.5, -16.2}, true);
  b.rewards = D({0.3, 1.1});
  b.group_ids = torch::zeros({2}, torch::kLong);
  b.num_groups = 1;
  return b;
}

// The same data as a DPO pair: chosen = sample 2 (the winner), rejected = sample 1.
ObjectiveOutput DpoOnSamePair(double beta, double label_smoothing) {
  config::DpoConfig c;
  c.set_beta(beta);
  c.set_label_smoothing(label_smoothing);
  Batch pair;
  pair.sequence_logprobs = D({-16.2, -10.5}, true);
  pair.reference_logprobs = D({-15.5, -12.0});
  return DpoObjective(c).Compute(pair, StepContext());
}

TEST(BrainVectors, ArgmaxEqualsDpo) {
  for (const double beta : {1.0, 0.1}) {
    const BrainObjective brain(Config(1.0, BrainConfig::SELF_NORMALIZED, BrainConfig::ARGMAX, beta));
    const ObjectiveOutput b = brain.Compute(DpoGroup(), StepContext());
    const ObjectiveOutput d = DpoOnSamePair(beta, 0.0);
    EXPECT_NEAR(b.loss.item<double>(), d.loss.item<double>(), 1e-12) << beta;
    EXPECT_NEAR(b.loss.item<double>(), beta == 1.0 ? 2.30508332 : 0.80918502, 1e-8);
    // Coefficient of sample 1 (rejected) and sample 2 (chosen) vs DPO's sequence weights.
    const std::vector<double> bc = ToVector(b.sequence_weights), dc = ToVector(d.sequence_weights);
    EXPECT_NEAR(bc[0], dc[1], 1e-12);
    EXPECT_NEAR(bc[1], dc[0], 1e-12);
    if (beta == 1.0) ExpectAllNear(b.sequence_weights, {0.900250, -0.900250}, kTol, "G*c");
  }
}

TEST(BrainVectors, SoftmaxEqualsConservativeDpo) {
  const double eps = 1.0 / (1.0 + std::exp(1.1 - 0.3));  // σ(−(r_w − r_l)/τ)
  EXPECT_NEAR(eps, 0.310026, kTol);
  for (const double beta : {1.0, 0.1}) {
    const BrainObjective brain(Config(1.0, BrainConfig::SELF_NORMALIZED, BrainConfig::SOFTMAX, beta));
    const ObjectiveOutput b = brain.Compute(DpoGroup(), StepContext());
    const ObjectiveOutput d = DpoOnSamePair(beta, eps);
    EXPECT_NEAR(b.loss.item<double>(), d.loss.item<double>(), 1e-12) << beta;
    EXPECT_NEAR(b.loss.item<double>(), beta == 1.0 ? 1.62302718 : 0.74097940, 1e-8);
    const std::vector<double> bc = ToVector(b.sequence_weights), dc = ToVector(d.sequence_weights);
    EXPECT_NEAR(bc[0], dc[1], 1e-12);
    EXPECT_NEAR(bc[1], dc[0], 1e-12);
  }
}

}  // namespace
}  // namespace brain::objectives
