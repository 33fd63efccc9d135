// Stage-3 sharding under mpiexec -n 1, 2, 4: frozen models (reward model and LM, GPT-2 and Llama) in
// stage-3 storage compute the unsharded forward; their parameter memory per rank falls as 1/world; the
// peak parameter memory of a training step at np = 4 is <= 0.35x that of np = 1; Llama training with
// gradient accumulation equals torch AdamW in one process; the checkpoint hooks
// resume bitwise and reject a different rank count; the full export equals the gathered parameters.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "core/model/model_factory.h"
#include "distributed/data_partition.h"
#include "distributed/mpi_communicator.h"
#include "core/train/sharded_causal_lm.h"
#include "distributed/stage3_adamw.h"

namespace brain::distributed {
namespace {

std::shared_ptr<model::CausalLm> Preset(const std::string& name, model::HeadKind head) {
  model::CreateModelOptions options;
  options.seed = 4;
  options.vocab_size = 256;
  options.head = head;
  auto created = model::CreatePresetModel(name, options);
  EXPECT_TRUE(created.ok()) << created.status();
  return *created;
}

// A deep, narrow GPT-2 whose layers hold almost all of its parameters (24 layers of d = 64).
std::shared_ptr<model::CausalLm> DeepGpt2() {
  auto config = model::PresetConfig("gpt2-tiny");
  EXPECT_TRUE(config.ok());
  config->num_layers = 24;
  config->vocab_size = 64;
  config->max_positions = 32;
  auto lm = model::CreateModel(*config);
  lm->InitializeWeights(11);
  return lm;
}

// Padding adds < world elements per block.
int64_t PaddingBound(const ShardedParameters& sp, int world, int64_t elem) {
  return static_cast<int64_t>(sp.num_blocks()) * world * elem;
}

void CheckFrozenForward(const std::string& preset, model::HeadKind head) {
  auto comm = MpiCommunicator::CreateWorld(60);
  const int world = comm->size();
  auto reference = Preset(preset, head);
  auto frozen = Preset(preset, head);  // same seed: the same weights, independently built
  for (auto& p : frozen->parameters()) p.requires_grad_(false);
  auto sp = ShardStage3(*frozen, *comm);
  // Memory per rank falls as 1/world: only the shards remain.
  EXPECT_LE(sp->resident_bytes(), sp->unsharded_bytes() / world + PaddingBound(*sp, world, 4));
  EXPECT_GE(sp->resident_bytes() * world, sp->unsharded_bytes());
  if (world == 1) {
    EXPECT_EQ(sp->resident_bytes(), sp->unsharded_bytes());
  }
  std::printf("[%s] rank %d/%d: frozen parameter bytes %lld of %lld unsharded (x%.3f)\n", preset.c_str(),
              comm->rank(), world, static_cast<long long>(sp->resident_bytes()),
              static_cast<long long>(sp->unsharded_bytes()),
              static_cast<double>(sp->resident_bytes()) / sp->unsharded_bytes());

  torch::manual_seed(2);
  const torch::Tensor ids = torch::randint(0, 256, {3, 7}, torch::kLong);
  torch::Tensor mask = torch::ones_like(ids);
  mask[0][0] = 0;  // a left-padded row
  torch::NoGradGuard no_grad;
  for (int pass = 0; pass < 2; ++pass) {  // twice: gathering again after a release restores the weights
    torch::Tensor want, got;
    if (head == model::HeadKind::kSequenceClassification) {
      want = reference->Score(reference->Forward(ids, mask), mask);
      got = frozen->Score(frozen->Forward(ids, mask), mask);
    } else {
      want = reference->Logits(reference->Forward(ids, mask));
      got = frozen->Logits(frozen->Forward(ids, mask));
    }
    sp->ReleaseAll();
    EXPECT_TRUE(torch::allclose(got, want, 1e-6, 1e-6))
        << preset << " pass " << pass << " max diff " << (got - want).abs().max().item<double>();
    if (world > 1) {
      EXPECT_EQ(frozen->parameters()[0].storage().nbytes(), 0u);
    }
  }
}

TEST(Stage3, FrozenRewardModelForwardMatchesUnsharded) {
  CheckFrozenForward("gpt2-tiny", model::HeadKind::kSequenceClassification);
}
TEST(Stage3, FrozenLlamaForwardMatchesUnsharded) {
  CheckFrozenForward("llama-tiny", model::HeadKind::kLanguageModel);
}

// Memory: ShardedParameters counts the bytes of its flat buffers alive on the rank (shards plus gathered
// full buffers), the storage of every parameter; at np = 1 that is exactly the unsharded model.
TEST(Stage3, PeakParameterMemoryFallsWithRanks) {
  auto comm = MpiCommunicator::CreateWorld(60);
  torch::set_num_threads(1);
  auto lm = DeepGpt2();
  auto sp = ShardStage3(*lm, *comm);
  Stage3AdamW adamw(*sp);
  sp->ResetPeak();
  // Independent check of the accounting: at every layer boundary, the storage bytes actually behind the
  // parameters (distinct storages) plus the shards never exceed the reported peak.
  int64_t shard_bytes = 0;
  for (int b = 0; b < sp->num_blocks(); ++b) shard_bytes += sp->shard(b).nbytes();
  int64_t observed_peak = 0;
  auto measure = [&] {
    std::set<const void*> seen;
    int64_t bytes = comm->size() == 1 ? 0 : shard_bytes;  // with one rank the shards are the storages
    for (const auto& p : lm->parameters()) {
      if (seen.insert(p.storage().unsafeGetStorageImpl()).second) bytes += p.storage().nbytes();
    }
    observed_peak = std::max(observed_peak, bytes);
  };
  model::BlockHooks hooks = lm->block_hooks();
  auto after = hooks.after_layer;
  hooks.after_layer = [&, after](int64_t layer, torch::Tensor& out) {
    measure();
    after(layer, out);
    if (out.requires_grad()) out.register_hook([&](const torch::Tensor&) { measure(); });
  };
  lm->SetBlockHooks(hooks);
  torch::manual_seed(3);
  const torch::Tensor ids = torch::randint(0, 64, {2, 16}, torch::kLong);
  for (int step = 0; step < 2; ++step) {
    torch::Tensor logits = lm->Logits(lm->Forward(ids, torch::ones_like(ids)));
    torch::nn::functional::cross_entropy(logits.reshape({-1, 64}), ids.reshape({-1})).backward();
    adamw.Step(1e-3);
  }
  const double ratio = static_cast<double>(sp->peak_bytes()) / sp->unsharded_bytes();
  std::printf("rank %d/%d: stage-3 peak parameter bytes %lld, unsharded (np=1 peak) %lld, ratio %.3f\n",
              comm->rank(), comm->size(), static_cast<long long>(sp->peak_bytes()),
              static_cast<long long>(sp->unsharded_bytes()), ratio);
  EXPECT_GT(observed_peak, 0);
  EXPECT_LE(observed_peak, sp->peak_bytes());
  EXPECT_EQ(observed_peak >= sp->unsharded_bytes(), comm->size() == 1);
  if (comm->size() == 1) {
    EXPECT_EQ(sp->peak_bytes(), sp->unsharded_bytes());
  }
  if (comm->size() == 4) {
    EXPECT_LE(ratio, 0.35);
  }
  if (comm->size() > 1) {
    EXPECT_LT(ratio, 1.0 / comm->size() + 0.12);
  }
}

// Llama (untied head, GQA) at stage 3 with two gradient-accumulation micro-batches per step equals torch
// AdamW in one process over the whole global batch (fp64).
TEST(Stage3, LlamaAccumulatedTrainingMatchesOneProcess) {
  auto comm = MpiCommunicator::CreateWorld(60);
  torch::manual_seed(6);
  const torch::Tensor tokens = torch::randint(0, 256, {8, 6}, torch::kLong);
  auto loss = [&](model::CausalLm& lm, const std::vector<int64_t>& rows) {
    torch::Tensor ids = tokens.index_select(0, torch::tensor(rows, torch::kLong));
    torch::Tensor logits = lm.Logits(lm.Forward(ids, torch::ones_like(ids)));
    return torch::nn::functional::cross_entropy(
               logits.reshape({-1, 256}), ids.reshape({-1}),
               torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
           static_cast<double>(tokens.numel());
  };
  auto reference = Preset("llama-tiny", model::HeadKind::kLanguageModel);
  reference->to(torch::kDouble);
  torch::optim::AdamW adamw(reference->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  auto lm = Preset("llama-tiny", model::HeadKind::kLanguageModel);
  lm->to(torch::kDouble);
  auto sp = ShardStage3(*lm, *comm);
  AdamWOptions options;
  options.weight_decay = 0.1;
  Stage3AdamW sharded(*sp, options);
  for (int step = 0; step < 2; ++step) {
    const std::vector<int64_t> rows = GlobalPermutation(tokens.size(0), 3, step);
    adamw.zero_grad();
    loss(*reference, rows).backward();
    adamw.step();
    const std::vector<int64_t> mine = RankShare(rows, comm->rank(), comm->size());
    const size_t half = mine.size() / 2;
    loss(*lm, std::vector<int64_t>(mine.begin(), mine.begin() + half)).backward();
    loss(*lm, std::vector<int64_t>(mine.begin() + half, mine.end())).backward();
    sharded.Step(1e-2);
  }
  sp->GatherAll();
  auto want = reference->parameters(), got = lm->parameters();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-9, 1e-11))
        << "param " << i << " max diff " << (got[i] - want[i]).abs().max().item<double>();
  }
  EXPECT_FALSE(torch::allclose(
      want[0], Preset("llama-tiny", model::HeadKind::kLanguageModel)->parameters()[0].to(torch::kDouble)));
}

std::vector<torch::Tensor> Gathered(model::CausalLm& lm, ShardedParameters& sp) {
  sp.GatherAll();
  std::vector<torch::Tensor> out;
  for (const auto& p : lm.parameters()) out.push_back(p.detach().clone());
  sp.ReleaseAll();
  return out;
}

void TrainStep(model::CausalLm& lm, Stage3AdamW& adamw, const torch::Tensor& tokens, int step, int rank,
               int world) {
  std::vector<int64_t> rows = RankShare(GlobalPermutation(tokens.size(0), 5, step), rank, world);
  torch::Tensor ids = tokens.index_select(0, torch::tensor(rows, torch::kLong));
  torch::Tensor logits = lm.Logits(lm.Forward(ids, torch::ones_like(ids)));
  (torch::nn::functional::cross_entropy(
       logits.reshape({-1, 256}), ids.reshape({-1}),
       torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
   static_cast<double>(tokens.numel()))
      .backward();
  adamw.Step(1e-2);
}

TEST(Stage3, CheckpointHooksResumeBitwise) {
  auto comm = MpiCommunicator::CreateWorld(60);
  torch::manual_seed(8);
  const torch::Tensor tokens = torch::randint(0, 256, {8, 6}, torch::kLong);
  auto lm = Preset("gpt2-tiny", model::HeadKind::kLanguageModel);
  auto sp = ShardStage3(*lm, *comm);
  Stage3AdamW adamw(*sp);
  TrainStep(*lm, adamw, tokens, 0, comm->rank(), comm->size());
  std::map<std::string, torch::Tensor> saved = sp->StateTensors();
  for (auto& [k, v] : adamw.StateTensors()) saved[k] = v.clone();  // live tensors: keep a copy
  NamedTensors exported = sp->FullParameters();
  TrainStep(*lm, adamw, tokens, 1, comm->rank(), comm->size());
  const std::vector<torch::Tensor> uninterrupted = Gathered(*lm, *sp);

  // The export equals the model's parameters (by name), gathered block by block.
  auto fresh = Preset("gpt2-tiny", model::HeadKind::kLanguageModel);  // initial weights, to be overwritten
  std::map<std::string, torch::Tensor> by_name(exported.begin(), exported.end());
  ASSERT_EQ(by_name.size(), fresh->parameters().size());
  auto sp2 = ShardStage3(*fresh, *comm);
  Stage3AdamW adamw2(*sp2);
  // A different rank count is rejected on every rank, changing nothing.
  std::map<std::string, torch::Tensor> wrong = saved;
  wrong["param_layout"] = wrong["param_layout"].clone();
  wrong["param_layout"][0] = comm->size() + 1;
  EXPECT_FALSE(sp2->LoadStateTensors(wrong).ok());
  ASSERT_TRUE(sp2->LoadStateTensors(saved).ok());
  ASSERT_TRUE(adamw2.LoadStateTensors(saved).ok());
  std::vector<torch::Tensor> restored = Gathered(*fresh, *sp2);
  auto named = fresh->named_parameters();
  for (size_t i = 0; i < restored.size(); ++i) {
    EXPECT_TRUE(restored[i].equal(by_name.at(named[i].key()))) << "export differs at " << named[i].key();
  }
  TrainStep(*fresh, adamw2, tokens, 1, comm->rank(), comm->size());
  const std::vector<torch::Tensor> resumed = Gathered(*fresh, *sp2);
  for (size_t i = 0; i < resumed.size(); ++i)
    EXPECT_TRUE(resumed[i].equal(uninterrupted[i])) << "param " << i;

  // The full export loads at any rank count (here: into a third copy, compared after gathering).
  auto third = Preset("gpt2-tiny", model::HeadKind::kLanguageModel);
  auto sp3 = ShardStage3(*third, *comm);
  ASSERT_TRUE(sp3->LoadFullParameters(by_name).ok());
  std::vector<torch::Tensor> loaded = Gathered(*third, *sp3);
  for (size_t i = 0; i < loaded.size(); ++i) EXPECT_TRUE(loaded[i].equal(restored[i])) << "param " << i;
}

}  // namespace
}  // namespace brain::distributed
