// BRAIn properties of spec §3.7 on random groups, finite-difference gradients, non-finite guards and
// global normalisers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/objectives/brain.h"
#include "core/objectives/group_softmax.h"
#include "tests/unit/objectives/objectives_test_util.h"

namespace brain::objectives {
namespace {

using config::BrainConfig;
using testing::ExpectTensorsNear;
using testing::FiniteDifference;
using testing::ToVector;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// G groups of n samples with random scores (spread wide enough for peaked weights).
Batch RandomGroups(int64_t groups, int64_t n, uint64_t seed, double scale = 3.0) {
  torch::manual_seed(seed);
  const auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  Batch b;
  const int64_t s = groups * n;
  b.prior_logprobs = -20.0 + scale * torch::randn({s}, opt);
  b.proposal_logprobs = -20.0 + scale * torch::randn({s}, opt);
  b.sequence_logprobs = (-20.0 + scale * torch::randn({s}, opt)).set_requires_grad(true);
  b.rewards = torch::randn({s}, opt);
  b.reference_rewards = torch::randn({groups}, opt).repeat_interleave(n);
  b.group_ids = torch::arange(groups).repeat_interleave(n);
  b.num_groups = groups;
  return b;
}

BrainConfig Config(BrainConfig::Likelihood likelihood = BrainConfig::EXPONENTIAL, double tau = 0.7,
                   double beta_pol = 1.0, BrainConfig::AlphaMode mode = BrainConfig::SOFTMAX) {
  BrainConfig c;
  c.set_likelihood(likelihood);
  c.set_tau(tau);
  c.set_beta_pol(beta_pol);
  c.set_alpha_mode(mode);
  return c;
}

double Loss(const BrainObjective& brain, const Batch& b) {
  return brain.Compute(b, StepContext()).loss.item<double>();
}

torch::Tensor PerGroupShift(const Batch& b, uint64_t seed) {
  torch::manual_seed(seed);
  return (10.0 * torch::randn({b.num_groups}, torch::kFloat64)).index_select(0, b.group_ids);
}

TEST(BrainProperties, Invariances) {
  const BrainObjective brain(Config());
  const Batch base = RandomGroups(5, 6, 1);
  const double l0 = Loss(brain, base);
  Batch b = base;
  b.sequence_logprobs = (base.sequence_logprobs + PerGroupShift(base, 2)).detach();
  EXPECT_NEAR(Loss(brain, b), l0, 1e-11) << "log q_theta shift";
  b = base;
  b.rewards = base.rewards + PerGroupShift(base, 3);
  EXPECT_NEAR(Loss(brain, b), l0, 1e-11) << "reward shift (exponential)";
  b = base;
  b.prior_logprobs = base.prior_logprobs + PerGroupShift(base, 4);
  EXPECT_NEAR(Loss(brain, b), l0, 1e-11) << "log p shift";
  b = base;
  b.proposal_logprobs = base.proposal_logprobs + PerGroupShift(base, 5);
  EXPECT_NEAR(Loss(brain, b), l0, 1e-11) << "log q' shift";
  // Permuting samples (across the whole batch, group ids moving along) changes nothing.
  const torch::Tensor perm = torch::randperm(30, torch::kLong);
  b = base;
  for (torch::Tensor* t : {&b.prior_logprobs, &b.proposal_logprobs, &b.rewards, &b.group_ids}) {
    *t = t->index_select(0, perm);
  }
  b.sequence_logprobs = base.sequence_logprobs.detach().index_select(0, perm);
  EXPECT_NEAR(Loss(brain, b), l0, 1e-11) << "permutation";
  // The sigmoid likelihood is not invariant to reward shifts.
  const BrainObjective sigmoid(Config(BrainConfig::SIGMOID));
  b = base;
  b.rewards = base.rewards + 2.0;
  EXPECT_GT(std::abs(Loss(sigmoid, b) - Loss(sigmoid, base)), 1e-3);
}

TEST(BrainProperties, ZeroGradientAtPosterior) {
  const BrainObjective brain(Config(BrainConfig::EXPONENTIAL, 0.7));
  Batch b = RandomGroups(4, 8, 7);
  b.sequence_logprobs = (b.prior_logprobs + b.rewards / 0.7 + PerGroupShift(b, 8)).set_requires_grad(true);
  const ObjectiveOutput out = brain.Compute(b, StepContext());
  EXPECT_LT(out.sequence_weights.abs().max().item<double>(), 1e-13);
  out.loss.backward();
  EXPECT_LT(b.sequence_logprobs.grad().abs().max().item<double>(), 1e-13);
  EXPECT_LT(std::abs(out.metrics.at("d_sn")), 1e-12);
}

TEST(BrainProperties, CoefficientsSumToZeroAndAreBounded) {
  for (const double beta_pol : {1.0, 0.5, 2.0}) {
    for (const double scale : {0.5, 3.0, 30.0}) {
      const BrainObjective brain(Config(BrainConfig::EXPONENTIAL, 0.7, beta_pol));
      const Batch b = RandomGroups(50, 8, 11, scale);
      const ObjectiveOutput out = brain.Compute(b, StepContext());
      const torch::Tensor gc = out.sequence_weights * 50.0;  // G·c
      const torch::Tensor sums = GroupSum(gc, b.group_ids, 50);
      EXPECT_LT(sums.abs().max().item<double>(), 1e-12) << beta_pol << " " << scale;
      EXPECT_LE(gc.max().item<double>(), beta_pol);
      EXPECT_GE(gc.min().item<double>(), -beta_pol);
    }
  }
}

TEST(BrainProperties, ProposalIsPolicyGivesUniformBeta) {
  const BrainObjective brain(Config());
  Batch b = RandomGroups(6, 5, 13);
  b.proposal_logprobs = b.sequence_logprobs.detach().clone();
  const torch::Tensor beta_hat =
      brain.Compute(b, StepContext()).sequence_weights * 6.0 + brain.ComputeAlpha(b, StepContext()).alpha;
  ExpectTensorsNear(beta_hat, torch::full({30}, 0.2, torch::kFloat64), 1e-14, "beta_hat = 1/n");
}

// G·c = ∂L_g/∂ log q_θ by central differences, and autograd of the loss gives the same c.
TEST(BrainProperties, CoefficientMatchesFiniteDifferenceAndAutograd) {
  for (const auto likelihood : {BrainConfig::EXPONENTIAL, BrainConfig::SIGMOID}) {
    for (const double beta_pol : {1.0, 0.5}) {
      for (const auto mode : {BrainConfig::SOFTMAX, BrainConfig::ARGMAX}) {
        const BrainObjective brain(Config(likelihood, 0.7, beta_pol, mode));
        Batch b = RandomGroups(3, 4, 17);
        const ObjectiveOutput out = brain.Compute(b, StepContext());
        out.loss.backward();
        ExpectTensorsNear(b.sequence_logprobs.grad(), out.sequence_weights, 1e-14, "autograd vs c");
        const torch::Tensor fd = FiniteDifference(
            [&](const torch::Tensor& x) {
              Batch p = b;
              p.sequence_logprobs = x;
              return Loss(brain, p);
            },
            b.sequence_logprobs);
        ExpectTensorsNear(out.sequence_weights, fd, 1e-8, "c vs finite differences");
      }
    }
  }
}

// A round's α̂ cached at scoring time gives the same step as recomputing it from the cached scores.
TEST(BrainProperties, CachedAlphaGivesTheSameStep) {
  for (const auto mode : {BrainConfig::SOFTMAX, BrainConfig::ARGMAX}) {
    const BrainObjective brain(Config(BrainConfig::EXPONENTIAL, 0.7, 1.0, mode));
    Batch b = RandomGroups(4, 5, 37);
    const ObjectiveOutput fresh = brain.Compute(b, StepContext());
    b.alpha = brain.ComputeAlpha(b, StepContext()).alpha;
    const ObjectiveOutput cached = brain.Compute(b, StepContext());
    EXPECT_NEAR(cached.loss.item<double>(), fresh.loss.item<double>(), 1e-15);
    ExpectTensorsNear(cached.sequence_weights, fresh.sequence_weights, 1e-16, "c");
  }
}

// Per-token inputs: the gradient reaches every response token of a sample with weight c_i.
TEST(BrainProperties, TokenLogprobsGetTheSampleCoefficient) {
  const BrainObjective brain(Config());
  Batch b = RandomGroups(2, 3, 19);
  torch::manual_seed(20);
  b.token_logprobs = (-torch::rand({6, 5}, torch::kFloat32) * 3).set_requires_grad(true);
  b.mask = torch::tensor(
               {1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0})
               .view({6, 5});
  b.token_logprobs.data().masked_fill_(b.mask == 0, kNan);  // padding garbage must not leak
  b.sequence_logprobs = torch::Tensor();
  const ObjectiveOutput out = brain.Compute(b, StepContext());
  out.loss.backward();
  const torch::Tensor expected = (out.sequence_weights.unsqueeze(1) * b.mask).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(b.token_logprobs.grad(), expected, 1e-6, 1e-7));
  EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
}

TEST(BrainGuards, NonFiniteGroupsAreDroppedAndExcluded) {
  for (const auto baseline : {BrainConfig::SELF_NORMALIZED, BrainConfig::NONE, BrainConfig::UNNORMALIZED}) {
    BrainConfig config = Config();
    config.set_baseline(baseline);
    const BrainObjective brain(config);
    Batch b = RandomGroups(5, 4, 23);
    const Batch clean = b;
    auto poison = [](torch::Tensor& t, int64_t i, double v) {
      t = t.clone();
      t[i] = v;
    };
    poison(b.rewards, 0, kNan);                                       // group 0: NaN reward
    poison(b.proposal_logprobs, 5, -kInf);                            // group 1: a = +∞
    for (int i = 8; i < 12; ++i) poison(b.prior_logprobs, i, -kInf);  // group 2: all a = −∞
    b.sequence_logprobs = b.sequence_logprobs.detach().clone();
    b.sequence_logprobs[13] = kNan;  // group 3: NaN policy log-prob
    b.sequence_logprobs.set_requires_grad(true);
    EXPECT_EQ(brain.CountUnits(b, StepContext()).groups, 1);
    const ObjectiveOutput out = brain.Compute(b, StepContext());
    EXPECT_EQ(out.metrics.at("dropped"), 4.0);
    EXPECT_EQ(out.metrics.at("groups"), 1.0);
    // Only group 4 remains: same loss and coefficients as that group alone.
    Batch only;
    const torch::Tensor keep = torch::arange(16, 20);
    only.prior_logprobs = clean.prior_logprobs.index_select(0, keep);
    only.proposal_logprobs = clean.proposal_logprobs.index_select(0, keep);
    only.rewards = clean.rewards.index_select(0, keep);
    only.sequence_logprobs = clean.sequence_logprobs.detach().index_select(0, keep);
    only.group_ids = torch::zeros({4}, torch::kLong);
    const ObjectiveOutput ref = brain.Compute(only, StepContext());
    EXPECT_NEAR(out.loss.item<double>(), ref.loss.item<double>(), 1e-14);
    ExpectTensorsNear(out.sequence_weights.slice(0, 16, 20), ref.sequence_weights, 1e-14, "kept c");
    EXPECT_EQ(out.sequence_weights.slice(0, 0, 16).abs().max().item<double>(), 0.0);
    out.loss.backward();
    EXPECT_TRUE(torch::isfinite(b.sequence_logprobs.grad()).all().item<bool>());
    ExpectTensorsNear(b.sequence_logprobs.grad(), out.sequence_weights, 1e-14, "grad");
  }
  // UNNORMALIZED: a ratio q_θ/q' that overflows fp64 drops its group.
  BrainConfig config = Config();
  config.set_baseline(BrainConfig::UNNORMALIZED);
  Batch b = RandomGroups(2, 3, 29);
  b.sequence_logprobs = b.sequence_logprobs.detach().clone();
  b.sequence_logprobs[0] = 800.0;
  const ObjectiveOutput out = BrainObjective(config).Compute(b, StepContext());
  EXPECT_EQ(out.metrics.at("dropped"), 1.0);
  EXPECT_TRUE(torch::isfinite(out.sequence_weights).all().item<bool>());
}

// Splitting a step's groups into micro-batches with the global group count reproduces the full step.
TEST(BrainNormaliser, MicroBatchSplitMatchesFullStep) {
  const BrainObjective brain(Config());
  const Batch full = RandomGroups(6, 4, 31);
  const ObjectiveOutput whole = brain.Compute(full, StepContext());
  StepContext context;
  context.global.groups = 6;
  double loss = 0;
  std::vector<double> coefficients;
  for (int part = 0; part < 2; ++part) {
    const torch::Tensor idx = torch::arange(part * 12, part * 12 + 12);
    Batch b;
    b.prior_logprobs = full.prior_logprobs.index_select(0, idx);
    b.proposal_logprobs = full.proposal_logprobs.index_select(0, idx);
    b.rewards = full.rewards.index_select(0, idx);
    b.sequence_logprobs = full.sequence_logprobs.detach().index_select(0, idx);
    b.group_ids = full.group_ids.index_select(0, idx) - part * 3;
    const ObjectiveOutput out = brain.Compute(b, context);
    loss += out.loss.item<double>();
    for (double c : ToVector(out.sequence_weights)) coefficients.push_back(c);
  }
  EXPECT_NEAR(loss, whole.loss.item<double>(), 1e-14);
  testing::ExpectAllNear(whole.sequence_weights, coefficients, 1e-15, "c");
}

}  // namespace
}  // namespace brain::objectives
