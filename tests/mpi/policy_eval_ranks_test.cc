// EvaluatePolicy over MPI ranks: the data-parallel result equals one process evaluating every prompt, and
// a draw that fails on one rank only ends the evaluation on every rank (no rank left in a collective).
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/torch.h>

#include <vector>

#include "core/eval/policy_eval.h"
#include "core/model/model_factory.h"
#include "distributed/mpi_communicator.h"

namespace brain::eval {
namespace {

std::shared_ptr<model::CausalLm> Model(uint64_t seed) {
  model::CreateModelOptions options;
  options.seed = seed;
  options.vocab_size = 64;
  auto m = model::CreatePresetModel("llama-tiny", options);
  EXPECT_TRUE(m.ok()) << m.status();
  (*m)->eval();
  return *m;
}

// A judge that depends on every response token: the share of tokens divisible by 3, plus a length term.
std::vector<double> Judge(const std::vector<TokenIds>& prompts, const std::vector<TokenIds>& responses) {
  std::vector<double> out;
  for (size_t i = 0; i < responses.size(); ++i) {
    double hits = 0;
    for (const auto t : responses[i]) hits += t % 3 == 0 ? 1 : 0;
    out.push_back(hits / std::max<size_t>(1, responses[i].size()) + 0.01 * prompts[i].size());
  }
  return out;
}

std::vector<EvalPrompt> Prompts(int count) {
  std::vector<EvalPrompt> out;
  for (int i = 0; i < count; ++i) {
    EvalPrompt p{100 + 7 * i, {}};
    for (int t = 0; t <= i % 5; ++t) p.tokens.push_back((i * 11 + t * 3) % 63);
    out.push_back(p);
  }
  return out;
}

EvalOptions Options() {
  EvalOptions o;
  o.sampling.max_new_tokens = 10;
  o.sampling.batch_size = 4;
  o.seed = 5;
  o.best_of_n = 3;
  o.score_batch_size = 3;
  return o;
}

TEST(PolicyEvalRanks, DataParallelEqualsOneProcess) {
  torch::set_num_threads(1);
  auto policy = Model(1), reference = Model(2), prior = Model(3);
  const auto prompts = Prompts(9);
  auto world = distributed::MpiCommunicator::CreateWorld(60);
  distributed::MpiCommunicator self(MPI_COMM_SELF, nullptr);
  auto split = EvaluatePolicy(*policy, *reference, *prior, prompts, Judge, Options(), *world);
  auto alone = EvaluatePolicy(*policy, *reference, *prior, prompts, Judge, Options(), self);
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ(split->prompts, 9);
  const auto a = split->AsMap(), b = alone->AsMap();
  ASSERT_EQ(a.size(), b.size());
  // The samples are the same (counter-based seeds); only the KL's fp32 log-probs see other padding
  // when the prompts are batched differently.
  for (const auto& [name, value] : b) EXPECT_NEAR(a.at(name), value, name == "kl_estimate" ? 1e-6 : 1e-12) << name;
  EXPECT_GT(b.at("best_of_n_reward_mean"), 0) << "best-of-n was not evaluated";
}

TEST(PolicyEvalRanks, ADrawFailingOnOneRankEndsEveryRank) {
  torch::set_num_threads(1);
  auto policy = Model(1), reference = Model(2), prior = Model(3);
  auto world = distributed::MpiCommunicator::CreateWorld(60);
  const int last = world->size() - 1;
  // Prompt index `last` is the last rank's (strided shares); it leaves no room for max_new_tokens.
  auto prompts = Prompts(world->size() + 2);
  prompts[last].tokens.assign(policy->config().max_positions - 3, 7);
  auto result = EvaluatePolicy(*policy, *reference, *prior, prompts, Judge, Options(), *world);
  ASSERT_FALSE(result.ok());
  if (world->rank() == last) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
    EXPECT_NE(result.status().message().find("max_new_tokens"), std::string::npos) << result.status();
  } else {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted) << result.status();
  }
  // Every rank is still in step: a collective after the failure completes.
  world->Barrier();
}

}  // namespace
}  // namespace brain::eval
