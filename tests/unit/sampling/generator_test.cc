// GenerateSamples on a tiny GPT-2 / Llama: greedy vs no-cache recomputation and GreedyGenerate, logq vs
// a naive no-cache reference of the tempered/truncated distribution, determinism across batch sizes
// and refill policies, stop handling.
#include "core/sampling/generator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/model/generation.h"
#include "core/model/model_factory.h"
#include "core/sampling/counter_rng.h"

namespace brain::sampling {
namespace {

constexpr int64_t kVocab = 96;  // small, so EOS (id 95) is drawn now and then

std::shared_ptr<model::CausalLm> Tiny(const std::string& preset = "gpt2-tiny", uint64_t seed = 7) {
  model::CreateModelOptions o;
  o.seed = seed;
  o.vocab_size = kVocab;
  auto m = model::CreatePresetModel(preset, o);
  EXPECT_TRUE(m.ok()) << m.status();
  (*m)->eval();
  return *m;
}

std::vector<Prompt> MakePrompts(int count, uint64_t seed) {
  std::vector<Prompt> out;
  for (int i = 0; i < count; ++i) {
    Prompt p;
    p.prompt_id = 100 + 3 * i;
    const int len = 1 + static_cast<int>(CounterUniform({seed, 9}, i, 0, 0) * 9);
    for (int t = 0; t < len; ++t) p.token_ids.push_back(static_cast<int64_t>(CounterUniform({seed, 9}, i, 1, t) * (kVocab - 1)));
    out.push_back(p);
  }
  return out;
}

// Full-sequence logits at the last position (no cache).
std::vector<double> LastLogits(model::CausalLm& m, const std::vector<int64_t>& seq) {
  torch::NoGradGuard ng;
  const auto ids = torch::tensor(seq, torch::kLong).unsqueeze(0);
  const auto h = m.Forward(ids, torch::ones_like(ids));
  const auto l = m.Logits(h.select(1, seq.size() - 1)).squeeze(0).to(torch::kFloat64);
  return std::vector<double>(l.data_ptr<double>(), l.data_ptr<double>() + l.numel());
}

// log q(token) of the tempered/truncated distribution, naive doubles (independent of the library).
double NaiveLogq(std::vector<double> x, int64_t token, const SamplingOptions& o, bool ban, int64_t eos) {
  if (ban) x[eos] = -INFINITY;
  if (o.temperature == 0) return 0;
  for (auto& v : x) v /= o.temperature;
  if (o.top_k > 0) {
    auto s = x;
    std::sort(s.rbegin(), s.rend());
    for (auto& v : x) if (v < s[o.top_k - 1]) v = -INFINITY;
  }
  const double m = *std::max_element(x.begin(), x.end());
  std::vector<double> p(x.size());
  double z = 0;
  for (size_t i = 0; i < x.size(); ++i) z += (p[i] = std::exp(x[i] - m));
  for (auto& v : p) v /= z;
  if (o.top_p < 1) {
    auto s = p;
    std::sort(s.rbegin(), s.rend());
    double mass = 0, thr = 0;
    for (double v : s) {
      if (mass >= o.top_p) break;
      mass += v;
      thr = v;
    }
    double kept = 0;
    for (auto& v : p) kept += (v >= thr ? v : (v = 0));
    for (auto& v : p) v /= kept;
  }
  return std::log(p[token]);
}

std::vector<Sample> Draw(model::CausalLm& m, const std::vector<Prompt>& prompts, int n, SamplingOptions o,
                        uint64_t seed = 5) {
  GenerateOptions g;
  g.sampling = o;
  g.seed = {seed, 1};
  auto out = GenerateSamples(m, prompts, n, g);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<Sample>{};
}

TEST(Generator, GreedyMatchesNoCacheRecomputationAndGreedyGenerate) {
  auto m = Tiny();
  SamplingOptions o;
  o.temperature = 0;
  o.max_new_tokens = 12;
  o.batch_size = 3;
  const auto prompts = MakePrompts(5, 1);
  const auto samples = Draw(*m, prompts, 2, o);
  ASSERT_EQ(samples.size(), 10u);
  for (const auto& s : samples) {
    const auto& prompt = *std::find_if(prompts.begin(), prompts.end(), [&](const Prompt& p) { return p.prompt_id == s.prompt_id; });
    auto seq = prompt.token_ids;
    std::vector<int64_t> expect;
    for (int step = 0; step < o.max_new_tokens; ++step) {
      const auto l = LastLogits(*m, seq);
      const int64_t t = std::max_element(l.begin(), l.end()) - l.begin();
      expect.push_back(t);
      seq.push_back(t);
      if (t == kVocab - 1) break;
    }
    EXPECT_EQ(s.token_ids, expect) << "prompt " << s.prompt_id << " sample " << s.sample_index;
    EXPECT_EQ(s.logq, 0.0);
    // The transformers-checked greedy path of core/model.
    const auto ids = torch::tensor(prompt.token_ids, torch::kLong).unsqueeze(0);
    const auto g = model::GreedyGenerate(*m, ids, torch::ones_like(ids), o.max_new_tokens);
    for (size_t i = 0; i < s.token_ids.size(); ++i) EXPECT_EQ(g[0][i].item<int64_t>(), s.token_ids[i]);
  }
}

struct LogqCase {
  std::string preset;
  double temperature;
  int64_t top_k;
  double top_p;
  int64_t min_new;
};

class LogqTest : public ::testing::TestWithParam<LogqCase> {};

TEST_P(LogqTest, LogqEqualsNoCacheTeacherForcedReference) {
  const auto c = GetParam();
  auto m = Tiny(c.preset);
  SamplingOptions o;
  o.temperature = c.temperature;
  o.top_k = c.top_k;
  o.top_p = c.top_p;
  o.min_new_tokens = c.min_new;
  o.max_new_tokens = 10;
  o.batch_size = 4;
  o.refill_fraction = 0;  // refill every step: exercises row insertion and compaction
  const auto prompts = MakePrompts(4, 2);
  const auto samples = Draw(*m, prompts, 3, o);
  ASSERT_EQ(samples.size(), 12u);
  int eos_seen = 0;
  for (const auto& s : samples) {
    const auto& prompt = *std::find_if(prompts.begin(), prompts.end(), [&](const Prompt& p) { return p.prompt_id == s.prompt_id; });
    auto seq = prompt.token_ids;
    double ref = 0;
    ASSERT_EQ(s.token_ids.size(), s.token_logq.size());
    for (size_t j = 0; j < s.token_ids.size(); ++j) {
      const double lq = NaiveLogq(LastLogits(*m, seq), s.token_ids[j], o, static_cast<int64_t>(j) < o.min_new_tokens, kVocab - 1);
      ASSERT_TRUE(std::isfinite(lq)) << "drawn token outside the support at step " << j;
      EXPECT_NEAR(s.token_logq[j], lq, 2e-5);
      ref += lq;
      seq.push_back(s.token_ids[j]);
      if (static_cast<int64_t>(j) < o.min_new_tokens) {
        EXPECT_NE(s.token_ids[j], kVocab - 1);
      }
    }
    EXPECT_NEAR(s.logq, ref, 1e-4);
    if (s.finish_reason == FinishReason::kEos) {
      ++eos_seen;
      EXPECT_EQ(s.token_ids.back(), kVocab - 1);
    } else {
      EXPECT_EQ(s.finish_reason, FinishReason::kLength);
      EXPECT_EQ(static_cast<int64_t>(s.token_ids.size()), o.max_new_tokens);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Options, LogqTest,
                         ::testing::Values(LogqCase{"gpt2-tiny", 0.7, 0, 0.9, 0}, LogqCase{"gpt2-tiny", 1.3, 20, 1.0, 3},
                                           LogqCase{"llama-tiny", 0.8, 30, 0.85, 2},
                                           LogqCase{"gpt2-tiny", 1.0, 0, 1.0, 0}));

void ExpectSame(const std::vector<Sample>& a, const std::vector<Sample>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt_id, b[i].prompt_id) << what;
    EXPECT_EQ(a[i].sample_index, b[i].sample_index) << what;
    EXPECT_EQ(a[i].token_ids, b[i].token_ids) << what << ": sample " << i;
    EXPECT_NEAR(a[i].logq, b[i].logq, 1e-4) << what;
    EXPECT_EQ(a[i].finish_reason, b[i].finish_reason) << what;
  }
}

TEST(Generator, SameSamplesForAnyBatchSizeAndRefillPolicy) {
  auto m = Tiny();
  SamplingOptions o;
  o.temperature = 1.0;
  o.top_p = 0.95;
  o.max_new_tokens = 16;
  const auto prompts = MakePrompts(6, 3);
  o.batch_size = 1;
  const auto reference = Draw(*m, prompts, 4, o);
  int eos = 0;
  for (const auto& s : reference) eos += s.finish_reason == FinishReason::kEos;
  EXPECT_GT(eos, 0) << "the test wants some rows to finish early";
  for (int64_t batch : {3, 8, 24}) {
    for (double refill : {0.0, 0.5, 1.0}) {
      o.batch_size = batch;
      o.refill_fraction = refill;
      ExpectSame(reference, Draw(*m, prompts, 4, o), "batch " + std::to_string(batch) + " refill " + std::to_string(refill));
    }
  }
  // A subset of the prompts, in another order, gives the same samples for them.
  std::vector<Prompt> sub = {prompts[4], prompts[1]};
  o.batch_size = 5;
  const auto part = Draw(*m, sub, 4, o);
  std::vector<Sample> expect;
  for (const auto& s : reference) if (s.prompt_id == prompts[1].prompt_id || s.prompt_id == prompts[4].prompt_id) expect.push_back(s);
  ExpectSame(expect, part, "subset");
  // A subset of every prompt's sample indices (one rank's share under SAMPLE_PARALLEL) gives exactly
  // those samples of the full set.
  GenerateOptions g;
  g.sampling = o;
  g.seed = {5, 1};
  g.sample_indices = {1, 3};
  auto share = GenerateSamples(*m, prompts, 4, g);
  ASSERT_TRUE(share.ok()) << share.status();
  std::vector<Sample> expect_share;
  for (const auto& s : reference) if (s.sample_index % 2 == 1) expect_share.push_back(s);
  ExpectSame(expect_share, *share, "sample indices {1, 3}");
  // Another seed gives other samples.
  const auto other = Draw(*m, prompts, 4, o, /*seed=*/6);
  int differ = 0;
  for (size_t i = 0; i < other.size(); ++i) differ += other[i].token_ids != reference[i].token_ids;
  EXPECT_GT(differ, 12);
}

TEST(Generator, StopTokenIdsAndStats) {
  auto m = Tiny();
  SamplingOptions o;
  o.temperature = 1.0;
  o.max_new_tokens = 20;
  o.stop_token_ids = {3, 4, 5, 6, 7, 8, 9, 10};
  o.batch_size = 6;
  GenerateOptions g;
  g.sampling = o;
  GenerateStats stats;
  int calls = 0;
  g.progress = [&](const GenerateProgress&) { ++calls; };
  auto out = GenerateSamples(*m, MakePrompts(5, 4), 3, g, &stats);
  ASSERT_TRUE(out.ok()) << out.status();
  int stopped = 0;
  int64_t tokens = 0;
  for (const auto& s : *out) {
    tokens += s.token_ids.size();
    if (s.finish_reason == FinishReason::kStop) {
      ++stopped;
      EXPECT_GE(s.token_ids.back(), 3);
      EXPECT_LE(s.token_ids.back(), 10);
    }
    for (size_t j = 0; j + 1 < s.token_ids.size(); ++j) EXPECT_TRUE(s.token_ids[j] < 3 || s.token_ids[j] > 10);
  }
  EXPECT_GT(stopped, 0);
  EXPECT_EQ(stats.generated_tokens, tokens);
  EXPECT_EQ(stats.prompts_prefilled, 5);
  EXPECT_GE(calls, 1);
  EXPECT_LE(stats.wasted_row_steps, stats.row_steps);
}

TEST(Generator, RejectsBadInput) {
  auto m = Tiny();
  GenerateOptions g;
  g.sampling.max_new_tokens = 600;  // beyond 512 positions
  EXPECT_FALSE(GenerateSamples(*m, MakePrompts(1, 1), 1, g).ok());
  g.sampling.max_new_tokens = 4;
  g.sampling.top_p = 0;
  EXPECT_FALSE(GenerateSamples(*m, MakePrompts(1, 1), 1, g).ok());
  g.sampling.top_p = 1;
  EXPECT_FALSE(GenerateSamples(*m, {Prompt{1, {}}}, 1, g).ok());
  EXPECT_FALSE(GenerateSamples(*m, {Prompt{1, {5}}, Prompt{1, {6}}}, 1, g).ok());
  EXPECT_FALSE(GenerateSamples(*m, {Prompt{1, {kVocab}}}, 1, g).ok());
  for (const std::vector<int64_t>& bad : std::vector<std::vector<int64_t>>{{2}, {1, 1}, {1, 0}, {-1}}) {
    g.sample_indices = bad;
    const auto out = GenerateSamples(*m, MakePrompts(1, 1), 2, g);
    EXPECT_FALSE(out.ok()) << "sample_indices of size " << bad.size();
    if (!out.ok()) {
      EXPECT_NE(out.status().message().find("sample_indices"), std::string::npos) << out.status();
    }
  }
}

}  // namespace
}  // namespace brain::sampling
