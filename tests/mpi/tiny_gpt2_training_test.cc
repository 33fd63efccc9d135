// A tiny GPT-2 trained for a few steps on np = 1..4 ranks — stage 0 (bucketed gradient all-reduce +
// AdamW), stage 1 (ShardedAdamW) and stage 3 (ShardedParameters + Stage3AdamW) — ends with the
// parameters of one process training on the whole global batch (torch AdamW), and with bitwise-identical
// (gathered) parameters on every rank.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include "core/model/model_factory.h"
#include "distributed/data_partition.h"
#include "distributed/gradient_synchronizer.h"
#include "distributed/mpi_communicator.h"
#include "distributed/sharded_adamw.h"
#include "core/train/sharded_causal_lm.h"
#include "distributed/stage3_adamw.h"

namespace brain::distributed {
namespace {

constexpr int64_t kSequences = 12, kLength = 16, kVocab = 256, kSteps = 3;
constexpr double kLr = 1e-3;

std::shared_ptr<model::CausalLm> TinyGpt2() {
  model::CreateModelOptions options;
  options.seed = 1;
  options.vocab_size = kVocab;
  auto created = model::CreatePresetModel("gpt2-tiny", options);
  EXPECT_TRUE(created.ok()) << created.status();
  // fp64: Adam divides by √v, so in fp32 the summation order of near-zero gradients (which differs with
  // the rank count) can move an element by up to lr; in fp64 the runs agree to ~1e-12.
  (*created)->to(torch::kDouble);
  return *created;
}

// Next-token NLL summed over `rows`, divided by the global token count (spec §1).
torch::Tensor Loss(model::CausalLm& lm, const torch::Tensor& tokens, const std::vector<int64_t>& rows) {
  torch::Tensor ids = tokens.index_select(0, torch::tensor(rows, torch::kLong));
  torch::Tensor mask = torch::ones_like(ids);
  torch::Tensor logits = lm.Logits(lm.Forward(ids, mask)).slice(1, 0, kLength - 1);
  torch::Tensor logp = torch::log_softmax(logits, -1);
  torch::Tensor target = ids.slice(1, 1, kLength).unsqueeze(-1);
  return -logp.gather(-1, target).sum() / static_cast<double>(kSequences * (kLength - 1));
}

// Stage 3: the parameters live as per-block shards; returns the gathered parameters after training.
std::vector<torch::Tensor> TrainStage3(Communicator& comm, const torch::Tensor& tokens) {
  auto lm = TinyGpt2();
  std::unique_ptr<ShardedParameters> sharded = ShardStage3(*lm, comm);
  Stage3AdamW adamw(*sharded);
  for (int64_t step = 0; step < kSteps; ++step) {
    std::vector<int64_t> rows = RankShare(GlobalPermutation(kSequences, 77, step), comm.rank(), comm.size());
    Loss(*lm, tokens, rows).backward();
    adamw.Step(kLr);
    if (comm.size() > 1) {
      // Between steps only the shards hold memory: the first parameter has no storage.
      EXPECT_EQ(lm->parameters()[0].storage().nbytes(), 0u);
    }
  }
  sharded->GatherAll();
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& p : lm->parameters()) out.push_back(p.detach().clone());
  return out;
}

std::vector<torch::Tensor> Train(int stage, Communicator* comm, const torch::Tensor& tokens) {
  if (comm != nullptr && stage == 3) return TrainStage3(*comm, tokens);
  auto lm = TinyGpt2();
  std::vector<torch::Tensor> params = lm->parameters();
  std::unique_ptr<GradientSynchronizer> sync;
  std::unique_ptr<torch::optim::AdamW> adamw;
  std::unique_ptr<ShardedAdamW> sharded;
  if (comm != nullptr && stage == 1) {
    sharded = std::make_unique<ShardedAdamW>(params, *comm);
  } else {
    adamw = std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(kLr).weight_decay(0.0));
    if (comm != nullptr) sync = std::make_unique<GradientSynchronizer>(params, *comm, BucketOptions{0.01, 0.1});
  }
  for (int64_t step = 0; step < kSteps; ++step) {
    std::vector<int64_t> rows = GlobalPermutation(kSequences, 77, step);
    if (comm != nullptr) rows = RankShare(rows, comm->rank(), comm->size());
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    Loss(*lm, tokens, rows).backward();
    if (sharded) {
      sharded->Step(kLr);
    } else {
      if (sync) sync->Finish();
      adamw->step();
    }
  }
  return params;
}

void CheckStage(int stage) {
  torch::set_num_threads(1);
  auto comm = MpiCommunicator::CreateWorld(60);
  torch::manual_seed(9);
  const torch::Tensor tokens = torch::randint(0, kVocab, {kSequences, kLength}, torch::kLong);
  const std::vector<torch::Tensor> distributed = Train(stage, comm.get(), tokens);
  const std::vector<torch::Tensor> single = Train(stage, nullptr, tokens);
  ASSERT_EQ(distributed.size(), single.size());
  for (size_t i = 0; i < single.size(); ++i) {
    EXPECT_TRUE(torch::allclose(distributed[i], single[i], 1e-9, 1e-11))
        << "stage " << stage << " param " << i << " max diff "
        << (distributed[i] - single[i]).abs().max().item<double>();
    torch::Tensor from_rank0 = distributed[i].detach().clone();
    comm->Broadcast(from_rank0, 0);
    EXPECT_TRUE(from_rank0.equal(distributed[i].detach())) << "ranks disagree on param " << i;
  }
  // Training moved the weights (the comparison above is not between untouched copies).
  EXPECT_FALSE(torch::allclose(single[0], TinyGpt2()->parameters()[0]));
}

TEST(TinyGpt2Training, Stage0MatchesOneProcess) { CheckStage(0); }
TEST(TinyGpt2Training, Stage1MatchesOneProcess) { CheckStage(1); }
TEST(TinyGpt2Training, Stage3MatchesOneProcess) { CheckStage(3); }

}  // namespace
}  // namespace brain::distributed
