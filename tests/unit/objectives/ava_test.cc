// AVA against spec §4.6 (per-token terms, AVA-d, AVA-p, options), reward weights, reductions to SFT and to
// the contrastive likelihood, a naive reference for the position/weight options, and finite differences.
#include "core/objectives/ava.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/objectives/sft.h"
#include "tests/unit/objectives/objectives_test_util.h"

namespace brain::objectives {
namespace {

using config::AvaConfig;
using testing::D;
using testing::D2;
using testing::ExpectAllNear;
using testing::ExpectTensorsNear;
using testing::FiniteDifference;
using testing::ToVector;

constexpr double kTol = 1e-6;

AvaConfig Config(AvaConfig::Mode mode = AvaConfig::AVA_D) {
  AvaConfig c;
  c.set_mode(mode);
  c.set_reward_weights(AvaConfig::OFF);
  return c;
}

// The spec's response y = [2, 1, 3] with its logits and reward head outputs (per transition).
Batch SpecSequence() {
  Batch b;
  b.q_logits = D2({{0.5, -1.0, 1.5, 0.0}, {0.2, 1.1, -0.4, 0.3}, {-0.6, 0.0, 0.4, 2.0}}).unsqueeze(0);
  b.target_ids = torch::tensor({{2, 1, 3}}, torch::kLong);
  b.reward_mu = D2({{0.3, -0.2, 0.6}});
  b.reward_log_sigma = D2({{-0.4, 0.1, 0.0}});
  b.mask = torch::ones({1, 3}, torch::kBool);
  return b;
}

AvaTokenTerms Terms(const Batch& b, const AvaConfig& c) {
  return ComputeTokenTerms(ReadTransitions(b, c), c, torch::Tensor());
}

TEST(AvaVector, PerTokenTerms) {
  const AvaConfig c = Config();
  const TqrTransitions tr = ReadTransitions(SpecSequence(), c);
  ExpectAllNear(tr.q, {-0.514675, -0.731901, -0.344657}, kTol, "Q");
  const AvaTokenTerms t = ComputeTokenTerms(tr, c, torch::Tensor());
  ExpectAllNear(t.delta, {0.217226, -0.387244, 0.0}, kTol, "delta");
  ExpectAllNear(t.kl, {0.169664, 0.030701, 0.0}, kTol, "kl");
  ExpectAllNear(t.td, {-0.526563, -1.033291, 0.0}, kTol, "td");
  ExpectAllNear(t.token_total, {-1.210902, -1.795893, -0.344657}, kTol, "F_t");
  EXPECT_NEAR(t.token_total.sum().item<double>(), -3.351452, kTol);
  EXPECT_NEAR(AvaObjective(c).Compute(SpecSequence(), StepContext()).loss.item<double>(), 1.117151, kTol);
}

TEST(AvaVector, AbsorbingEosAndGamma) {
  AvaConfig c = Config();
  c.set_absorbing_eos(true);
  const AvaTokenTerms t = Terms(SpecSequence(), c);
  EXPECT_NEAR(t.delta[0][2].item<double>(), -0.344657, kTol);
  EXPECT_NEAR(t.kl[0][2].item<double>(), 0.180000, kTol);
  EXPECT_NEAR(t.td[0][2].item<double>(), -1.365127, kTol);
  EXPECT_NEAR(t.token_total.sum().item<double>(), -4.896579, kTol);
  EXPECT_NEAR(AvaObjective(c).Compute(SpecSequence(), StepContext()).loss.item<double>(), 1.632193, kTol);
  c = Config();
  c.set_gamma(0.9);
  const AvaTokenTerms g = Terms(SpecSequence(), c);
  EXPECT_NEAR(g.delta[0][0].item<double>(), 0.144036, kTol);
  EXPECT_NEAR(g.td[0][0].item<double>(), -0.546006, kTol);
}

TEST(AvaVector, QForms) {
  AvaConfig c = Config();
  c.set_alpha(2.0);
  ExpectAllNear(ReadTransitions(SpecSequence(), c).q, {-0.175515, -0.348530, -0.062594}, kTol,
                "tempered a=2");
  c.set_q_form(AvaConfig::PROB_LITERAL);
  c.set_alpha(5.0);
  ExpectAllNear(ReadTransitions(SpecSequence(), c).q, {-0.272839, -0.507022, -0.134173}, kTol, "literal a=5");
}

// Chosen = the spec sequence, rejected Q = [−1.4, −0.9], μ = [0.1, −0.5], log σ = [0.2, −0.1].
Batch SpecPair() {
  const Batch chosen = SpecSequence();
  const torch::Tensor q = ReadTransitions(chosen, Config()).q;
  Batch b;
  b.q_values = torch::cat({q, D2({{-1.4, -0.9, 0.0}})});
  b.reward_mu = D2({{0.3, -0.2, 0.6}, {0.1, -0.5, 0.0}});
  b.reward_log_sigma = D2({{-0.4, 0.1, 0.0}, {0.2, -0.1, 0.0}});
  b.mask = torch::tensor({{1, 1, 1}, {1, 1, 0}}, torch::kBool);
  return b;
}

TEST(AvaVector, PairwiseWithCerAndFloor) {
  AvaConfig c = Config(AvaConfig::AVA_P);
  const AvaTokenTerms t = Terms(SpecPair(), c);
  EXPECT_NEAR(t.delta[1][0].item<double>(), -0.5, kTol);
  EXPECT_NEAR(t.kl[1][0].item<double>(), 0.050912, kTol);
  EXPECT_NEAR(t.td[1][0].item<double>(), -1.239596, kTol);
  ObjectiveOutput out = AvaObjective(c).Compute(SpecPair(), StepContext());
  EXPECT_NEAR(out.metrics.at("cer"), 0.750260, kTol);
  EXPECT_NEAR(out.loss.item<double>(), -0.281868, kTol);
  EXPECT_NEAR(out.metrics.at("rejected_logprob_mean"), -1.15, 1e-12);
  EXPECT_EQ(out.metrics.at("reward_accuracy"), 1.0);
  // F_p = −N_tok·(loss + η·C).
  EXPECT_NEAR(-5.0 * (out.loss.item<double>() + 0.750260), -2.341961, 5e-6);
  c.set_cer(AvaConfig::LOG_SIGMOID);
  out = AvaObjective(c).Compute(SpecPair(), StepContext());
  EXPECT_NEAR(out.metrics.at("cer"), -0.287335, kTol);
  EXPECT_NEAR(out.loss.item<double>(), 0.755727, kTol);
  c.set_cer(AvaConfig::SIGMOID);
  c.set_rejected_logprob_floor(-1.0);
  out = AvaObjective(c).Compute(SpecPair(), StepContext());
  EXPECT_NEAR(out.loss.item<double>(), -0.201868, kTol);
  EXPECT_NEAR(-5.0 * (out.loss.item<double>() + 0.750260), -2.741961, 5e-6);
  EXPECT_NEAR(out.metrics.at("rejected_logprob_mean"), -1.15, 1e-12);  // logged unfloored
}

TEST(AvaRewardWeights, SpecVector) {
  const torch::Tensor a = D2({{1, 0, 0}, {0.4, 0.6, 0}, {0.2, 0.3, 0.5}}).unsqueeze(0);
  ExpectAllNear(RewardWeights(a, torch::ones({1, 3})), {0.533333, 0.300000, 0.166667}, kTol, "w");
  // A padded query row is excluded from the mean (even if it holds NaN).
  const torch::Tensor padded = torch::cat({torch::cat({a, torch::zeros({1, 3, 1}, torch::kFloat64)}, 2),
                                           torch::full({1, 1, 4}, std::nan(""), torch::kFloat64)},
                                          1);
  ExpectAllNear(RewardWeights(padded, torch::tensor({{1, 1, 1, 0}})), {0.533333, 0.300000, 0.166667, 0}, kTol,
                "w padded");
}

// Random per-position data: 2 pairs, L = 7 positions of which the response spans differ per row.
Batch RandomPositional(uint64_t seed) {
  torch::manual_seed(seed);
  const auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t s = 4, l = 7, t = 4, v = 5;
  Batch b;
  b.q_logits = torch::randn({s, t, v}, opt);
  b.target_ids = torch::randint(0, v, {s, t}, torch::kLong);
  b.reward_mu = 0.5 * torch::randn({s, l}, opt);
  b.reward_log_sigma = 0.3 * torch::randn({s, l}, opt);
  b.mask = torch::tensor({{1, 1, 1, 1}, {1, 1, 0, 0}, {1, 1, 1, 0}, {1, 1, 1, 1}}, torch::kBool);
  b.response_positions =
      torch::tensor({{3, 4, 5, 6}, {2, 3, 0, 0}, {4, 5, 6, 0}, {2, 3, 4, 5}}, torch::kLong);
  b.attention_mask = torch::tensor(
      {{1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 0}});
  // Causal attention rows summing to 1.
  const torch::Tensor causal = torch::ones({l, l}, opt).tril();
  b.attention = torch::softmax(torch::randn({s, l, l}, opt).masked_fill(causal == 0, -INFINITY), -1);
  return b;
}

// Naive scalar reference of §4.2–4.4 for one sequence given Q_t, μ̃_t, log σ_t (weights applied).
double NaiveF(const std::vector<double>& q, const std::vector<double>& mu, const std::vector<double>& ls,
              const AvaConfig& c, double like_sign, bool floor, bool regularise) {
  const size_t n = q.size();
  double f = 0;
  for (size_t t = 0; t < n; ++t) {
    const double qt =
        floor && c.has_rejected_logprob_floor() ? std::max(q[t], c.rejected_logprob_floor()) : q[t];
    f += like_sign * c.beta() * qt;
    const bool last = t + 1 == n;
    if (!regularise || (last && !c.absorbing_eos())) continue;
    const double next = last ? 0.0 : q[t + 1];
    const double delta = q[t] - c.gamma() * next;
    const double sigma = std::exp(ls[t]);
    if (c.kl_enabled()) f -= 0.5 * (mu[t] * mu[t] + sigma * sigma - 1) - ls[t];
    f += c.lambda() *
         (-0.5 * std::log(2 * M_PI) - ls[t] - (delta - mu[t]) * (delta - mu[t]) / (2 * sigma * sigma));
  }
  return f;
}

AvaConfig RichConfig() {
  AvaConfig c = Config(AvaConfig::AVA_P);
  c.set_reward_weights(AvaConfig::MU_AND_Q);
  c.set_q_form(AvaConfig::PROB_LITERAL);
  c.set_alpha(3.0);
  c.set_beta(1.3);
  c.set_lambda(0.7);
  c.set_gamma(0.9);
  c.set_eta(0.8);
  c.set_absorbing_eos(true);
  c.set_cer(AvaConfig::LOG_SIGMOID);
  c.set_rejected_logprob_floor(-0.2);  // Q·w is small under MU_AND_Q
  return c;
}

TEST(AvaOptions, PositionsWeightsAndPairsMatchNaiveReference) {
  for (const auto index : {AvaConfig::NEXT_STATE, AvaConfig::STATE}) {
    for (const auto kl_td_on : {AvaConfig::BOTH, AvaConfig::CHOSEN_ONLY}) {
      for (const auto norm : {AvaConfig::TOKEN_MEAN, AvaConfig::SEQUENCE_MEAN}) {
        AvaConfig c = RichConfig();
        c.set_reward_index(index);
        c.set_kl_td_on(kl_td_on);
        c.set_normalization(norm);
        const Batch b = RandomPositional(3);
        const torch::Tensor w = RewardWeights(b.attention, b.attention_mask);
        const torch::Tensor q_all = torch::log_softmax(3.0 * torch::softmax(b.q_logits, -1), -1)
                                        .gather(-1, b.target_ids.unsqueeze(-1))
                                        .squeeze(-1);
        std::vector<double> f(4), mu_last(4);
        int64_t tokens = 0;
        for (int64_t s = 0; s < 4; ++s) {
          std::vector<double> q, mu, ls;
          for (int64_t t = 0; t < 4; ++t) {
            if (!b.mask[s][t].item<bool>()) continue;
            const int64_t pos = b.response_positions[s][t].item<int64_t>();
            const int64_t mpos = index == AvaConfig::STATE ? pos - 1 : pos;
            q.push_back(q_all[s][t].item<double>() * w[s][pos - 1].item<double>());
            mu.push_back(b.reward_mu[s][mpos].item<double>() * w[s][mpos].item<double>());
            ls.push_back(b.reward_log_sigma[s][mpos].item<double>());
            mu_last[s] = b.reward_mu[s][pos].item<double>() * w[s][pos].item<double>();
            ++tokens;
          }
          const bool rejected = s >= 2;
          f[s] =
              NaiveF(q, mu, ls, c, rejected ? -1.0 : 1.0, rejected, !rejected || kl_td_on == AvaConfig::BOTH);
        }
        double objective = 0, cer = 0;
        for (int p = 0; p < 2; ++p) {
          objective += f[p] + f[p + 2];
          const double m = mu_last[p] - mu_last[p + 2];
          cer += -std::log1p(std::exp(-m));
        }
        const double n = norm == AvaConfig::TOKEN_MEAN ? tokens : 4.0;
        const double expected = -objective / n - 0.8 * cer / 2.0;
        const AvaObjective ava(c);
        EXPECT_NEAR(ava.Compute(b, StepContext()).loss.item<double>(), expected, 1e-12)
            << index << " " << kl_td_on << " " << norm;
        ExpectAllNear(ava.RewardLast(b), mu_last, 1e-14, "mu_last");
      }
    }
  }
}

TEST(AvaOptions, RewardApi) {
  AvaConfig c = Config();
  c.set_reward_weights(AvaConfig::MU);
  const Batch b = RandomPositional(5);
  const torch::Tensor w = RewardWeights(b.attention, b.attention_mask);
  const AvaObjective ava(c);
  const std::vector<double> last = ToVector(ava.RewardLast(b)), sum = ToVector(ava.RewardSum(b));
  for (int64_t s = 0; s < 4; ++s) {
    double total = 0, final_mu = 0;
    for (int64_t t = 0; t < 4; ++t) {
      if (!b.mask[s][t].item<bool>()) continue;
      const int64_t pos = b.response_positions[s][t].item<int64_t>();
      final_mu = (b.reward_mu[s][pos] * w[s][pos]).item<double>();
      total += final_mu;
    }
    EXPECT_NEAR(last[s], final_mu, 1e-14);
    EXPECT_NEAR(sum[s], total, 1e-14);
  }
  // Scoring needs no Q: the reward API works on reward-head outputs alone.
  Batch scores = b;
  scores.q_logits = torch::Tensor();
  scores.target_ids = torch::Tensor();
  ExpectAllNear(ava.RewardLast(scores), last, 0, "mu_last without Q");
}

TEST(AvaReductions, AvaDWithoutRegularisersIsSft) {
  const Batch b = RandomPositional(7);
  AvaConfig c = Config(AvaConfig::AVA_D);
  c.set_lambda(0.0);
  c.set_kl_enabled(false);
  Batch sft;
  sft.token_logprobs = torch::log_softmax(b.q_logits, -1).gather(-1, b.target_ids.unsqueeze(-1)).squeeze(-1);
  sft.mask = b.mask;
  const double expected = SftObjective().Compute(sft, StepContext()).loss.item<double>();
  EXPECT_NEAR(AvaObjective(c).Compute(b, StepContext()).loss.item<double>(), expected, 1e-14);
}

TEST(AvaReductions, AvaPWithoutRegularisersIsContrastiveLikelihood) {
  const Batch b = RandomPositional(9);
  AvaConfig c = Config(AvaConfig::AVA_P);
  c.set_lambda(0.0);
  c.set_kl_enabled(false);
  c.set_cer(AvaConfig::CER_OFF);
  const torch::Tensor lp =
      torch::log_softmax(b.q_logits, -1).gather(-1, b.target_ids.unsqueeze(-1)).squeeze(-1);
  const torch::Tensor seq = (lp * b.mask).sum(1);
  const double contrast = (seq.slice(0, 0, 2) - seq.slice(0, 2, 4)).sum().item<double>();
  const double tokens = b.mask.sum().item<double>();
  EXPECT_NEAR(AvaObjective(c).Compute(b, StepContext()).loss.item<double>(), -contrast / tokens, 1e-14);
}

TEST(AvaGradients, FiniteDifferencesOfEveryInput) {
  for (const int variant : {0, 1, 2}) {
    const bool rich = variant > 0;
    AvaConfig c = rich ? RichConfig() : Config(AvaConfig::AVA_P);
    if (!rich) c.set_reward_weights(AvaConfig::MU);
    if (variant == 2) c.set_mode(AvaConfig::AVA_D);
    const AvaObjective ava(c);
    Batch b = RandomPositional(11);
    b.q_logits.set_requires_grad(true);
    b.reward_mu.set_requires_grad(true);
    b.reward_log_sigma.set_requires_grad(true);
    b.attention.set_requires_grad(true);
    ava.Compute(b, StepContext()).loss.backward();
    for (torch::Tensor Batch::*field :
         {&Batch::q_logits, &Batch::reward_mu, &Batch::reward_log_sigma, &Batch::attention}) {
      const torch::Tensor fd = FiniteDifference(
          [&](const torch::Tensor& x) {
            Batch p = b;
            p.*field = x;
            return ava.Compute(p, StepContext()).loss.item<double>();
          },
          b.*field);
      ExpectTensorsNear((b.*field).grad(), fd, 1e-7, rich ? "rich" : "default");
    }
  }
}

// Micro-batches with the step's global counts add up to the full batch's loss (both normalisations).
TEST(AvaNormaliser, MicroBatchSplitMatchesFullStep) {
  for (const auto norm : {AvaConfig::TOKEN_MEAN, AvaConfig::SEQUENCE_MEAN}) {
    AvaConfig c = RichConfig();
    c.set_normalization(norm);
    const AvaObjective ava(c);
    const Batch full = RandomPositional(17);
    const double whole = ava.Compute(full, StepContext()).loss.item<double>();
    StepContext context;
    context.global = ava.CountUnits(full, StepContext());
    double sum = 0;
    for (const auto& rows : {std::vector<int64_t>{0, 2}, std::vector<int64_t>{1, 3}}) {
      Batch part = full;
      const torch::Tensor idx = torch::tensor(rows, torch::kLong);
      for (torch::Tensor* t : {&part.q_logits, &part.target_ids, &part.reward_mu, &part.reward_log_sigma,
                               &part.mask, &part.response_positions, &part.attention, &part.attention_mask}) {
        *t = t->index_select(0, idx);
      }
      sum += ava.Compute(part, context).loss.item<double>();
    }
    EXPECT_NEAR(sum, whole, 1e-14) << norm;
  }
}

TEST(AvaGuards, BadSequenceDropsItsPair) {
  const AvaConfig c = RichConfig();
  const AvaObjective ava(c);
  Batch b = RandomPositional(13);
  b.reward_mu = b.reward_mu.clone();
  b.reward_mu[1][3] = std::nan("");  // on a response position of pair 1's chosen row
  b.reward_mu.set_requires_grad(true);
  const ObjectiveOutput out = ava.Compute(b, StepContext());
  EXPECT_EQ(out.metrics.at("dropped"), 2.0);
  EXPECT_EQ(ava.CountUnits(b, StepContext()).pairs, 1);
  // Same loss as pair 0 alone.
  Batch only = b;
  const torch::Tensor rows = torch::tensor({0, 2}, torch::kLong);
  for (torch::Tensor* t : {&only.q_logits, &only.target_ids, &only.reward_mu, &only.reward_log_sigma,
                           &only.mask, &only.response_positions, &only.attention, &only.attention_mask}) {
    *t = t->detach().index_select(0, rows);
  }
  EXPECT_NEAR(out.loss.item<double>(), ava.Compute(only, StepContext()).loss.item<double>(), 1e-14);
  out.loss.backward();
  EXPECT_TRUE(torch::isfinite(b.reward_mu.grad()).all().item<bool>());
}

}  // namespace
}  // namespace brain::objectives

namespace brain::objectives {
namespace {

// The trainer passes the model-reduced weights w (CausalLm computes them without materialising Ā):
// the loss, gradients and rewards equal those computed from the attention probabilities.
TEST(AvaOptions, PrecomputedRewardWeightsEqualAttention) {
  for (auto weights : {AvaConfig::MU, AvaConfig::MU_AND_Q}) {
    AvaConfig c;
    c.set_mode(AvaConfig::AVA_P);
    c.set_reward_weights(weights);
    const Batch from_attention = RandomPositional(11);
    Batch reduced = from_attention;
    reduced.attention = torch::Tensor();
    reduced.reward_weights = RewardWeights(from_attention.attention, from_attention.attention_mask);
    const AvaObjective ava(c);
    const double a = ava.Compute(from_attention, {}).loss.item<double>();
    const double b = ava.Compute(reduced, {}).loss.item<double>();
    EXPECT_NEAR(a, b, 1e-12) << "reward_weights " << weights;
    EXPECT_TRUE(torch::allclose(ava.RewardLast(from_attention), ava.RewardLast(reduced), 1e-12, 1e-12));
  }
}

}  // namespace
}  // namespace brain::objectives
