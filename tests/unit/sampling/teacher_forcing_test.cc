// Packing layout, fused response log-probs vs a naive log-softmax (values and gradients), batched
// sequence log-probs, reward scores vs one-sequence forwards, and the proposal (tempered) variant.
#include "core/sampling/teacher_forcing.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/model/model_factory.h"

namespace brain::sampling {
namespace {

std::shared_ptr<model::CausalLm> Tiny(model::HeadKind head = model::HeadKind::kLanguageModel) {
  model::CreateModelOptions o;
  o.seed = 11;
  o.vocab_size = 80;
  o.head = head;
  auto m = model::CreatePresetModel("gpt2-tiny", o);
  EXPECT_TRUE(m.ok()) << m.status();
  (*m)->eval();
  return *m;
}

const std::vector<TokenIds> kPrompts = {{1, 2, 3}, {4}, {5, 6, 7, 8, 9}};
const std::vector<TokenIds> kResponses = {{10, 11}, {12, 13, 14, 15}, {}};

TEST(Pack, Layout) {
  const auto p = PackPromptResponses(kPrompts, kResponses, /*pad_id=*/0);
  ASSERT_EQ(p.input_ids.sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_TRUE(p.input_ids[0].equal(torch::tensor({1, 2, 3, 10, 11}, torch::kLong)));
  EXPECT_TRUE(p.input_ids[1].equal(torch::tensor({4, 12, 13, 14, 15}, torch::kLong)));
  EXPECT_TRUE(p.attention_mask[0].equal(torch::tensor({1, 1, 1, 1, 1}, torch::kLong)));
  EXPECT_TRUE(p.targets[0].equal(torch::tensor({-100, -100, 10, 11, -100}, torch::kLong)));
  EXPECT_TRUE(p.targets[1].equal(torch::tensor({12, 13, 14, 15, -100}, torch::kLong)));
  EXPECT_TRUE(p.targets[2].equal(torch::full({5}, -100, torch::kLong)));
  EXPECT_TRUE(p.response_mask.sum(1).equal(torch::tensor({2.0f, 4.0f, 0.0f})));
  TokenIds short_prompt = {7};
  const auto q = PackPromptResponses({short_prompt}, {{8}});
  EXPECT_TRUE(q.attention_mask.equal(torch::tensor({{1, 1}}, torch::kLong)));
}

// Naive: one unpadded sequence at a time, full log_softmax of the logits.
std::vector<std::vector<double>> NaiveTokenLogprobs(model::CausalLm& m) {
  std::vector<std::vector<double>> out;
  for (size_t b = 0; b < kPrompts.size(); ++b) {
    TokenIds seq = kPrompts[b];
    seq.insert(seq.end(), kResponses[b].begin(), kResponses[b].end());
    const auto ids = torch::tensor(seq, torch::kLong).unsqueeze(0);
    const auto lp = torch::log_softmax(m.Logits(m.Forward(ids, torch::ones_like(ids))).to(torch::kFloat64), -1)[0];
    std::vector<double> row;
    for (size_t j = 0; j < kResponses[b].size(); ++j) {
      row.push_back(lp[kPrompts[b].size() - 1 + j][kResponses[b][j]].item<double>());
    }
    out.push_back(row);
  }
  return out;
}

TEST(ResponseTokenLogprobs, MatchesNaiveAndHasGradients) {
  auto m = Tiny();
  const auto packed = PackPromptResponses(kPrompts, kResponses);
  const auto lp = ResponseTokenLogprobs(*m, packed);
  std::vector<std::vector<double>> naive;
  {
    torch::NoGradGuard ng;
    naive = NaiveTokenLogprobs(*m);
  }
  for (size_t b = 0; b < kPrompts.size(); ++b) {
    double total = 0;
    for (size_t j = 0; j < kResponses[b].size(); ++j) {
      EXPECT_NEAR(lp[b][kPrompts[b].size() - 1 + j].item<double>(), naive[b][j], 1e-5);
      total += naive[b][j];
    }
    EXPECT_NEAR(lp[b].sum().item<double>(), total, 1e-4);
  }
  // Autograd: d/dθ of the summed log-probs equals the naive path's gradient.
  m->zero_grad();
  lp.sum().backward();
  std::vector<torch::Tensor> fused;
  for (const auto& p : m->parameters()) fused.push_back(p.grad().clone());
  m->zero_grad();
  torch::Tensor naive_sum = torch::zeros({}, torch::kFloat32);
  for (size_t b = 0; b < kPrompts.size(); ++b) {
    TokenIds seq = kPrompts[b];
    seq.insert(seq.end(), kResponses[b].begin(), kResponses[b].end());
    const auto ids = torch::tensor(seq, torch::kLong).unsqueeze(0);
    const auto l = torch::log_softmax(m->Logits(m->Forward(ids, torch::ones_like(ids))), -1)[0];
    for (size_t j = 0; j < kResponses[b].size(); ++j) naive_sum = naive_sum + l[kPrompts[b].size() - 1 + j][kResponses[b][j]];
  }
  naive_sum.backward();
  size_t i = 0;
  for (const auto& p : m->parameters()) {
    EXPECT_TRUE(torch::allclose(fused[i++], p.grad(), 1e-4, 1e-5));
  }
}

TEST(SequenceLogprobs, BatchedEqualsNaive) {
  auto m = Tiny();
  std::vector<std::vector<double>> naive;
  {
    torch::NoGradGuard ng;
    naive = NaiveTokenLogprobs(*m);
  }
  for (int64_t batch : {1, 2, 3}) {
    const auto s = SequenceLogprobs(*m, kPrompts, kResponses, batch);
    ASSERT_EQ(s.size(), 3u);
    for (size_t b = 0; b < 3; ++b) {
      double t = 0;
      for (double x : naive[b]) t += x;
      EXPECT_NEAR(s[b], t, 1e-4);
    }
  }
}

TEST(RewardScores, MatchOneSequenceForwards) {
  auto rm = Tiny(model::HeadKind::kSequenceClassification);
  const auto scores = RewardScores(*rm, kPrompts, kResponses, 2);
  torch::NoGradGuard ng;
  for (size_t b = 0; b < kPrompts.size(); ++b) {
    TokenIds seq = kPrompts[b];
    seq.insert(seq.end(), kResponses[b].begin(), kResponses[b].end());
    const auto ids = torch::tensor(seq, torch::kLong).unsqueeze(0);
    const auto h = rm->Forward(ids, torch::ones_like(ids));
    // The score head is linear in the last hidden state: compare against the first label's weight row.
    const auto w = rm->named_parameters()["score.weight"];
    EXPECT_NEAR(scores[b], (h[0][seq.size() - 1] * w[0]).sum().item<double>(), 1e-4);
  }
}

TEST(ProposalTokenLogprobs, TemperatureOneNoTruncationIsTheModel) {
  auto m = Tiny();
  const auto packed = PackPromptResponses(kPrompts, kResponses);
  SamplingOptions o;
  torch::Tensor plain;
  {
    torch::NoGradGuard ng;
    plain = ResponseTokenLogprobs(*m, packed);
  }
  EXPECT_TRUE(torch::allclose(ProposalTokenLogprobs(*m, packed, o), plain, 1e-4, 1e-5));
  o.temperature = 0.5;
  const auto cold = ProposalTokenLogprobs(*m, packed, o);
  EXPECT_FALSE(torch::allclose(cold, plain, 1e-3, 1e-3));
}

}  // namespace
}  // namespace brain::sampling
