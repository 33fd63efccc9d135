// CheckpointManager under mpiexec -n 1..3: per-rank shards round-trip bitwise, every rank agrees on the
// newest complete checkpoint (a corrupted shard of any rank makes all fall back), a failure on one rank
// fails every rank without a hang, and a ShardedAdamW training run resumed from a checkpoint (optimiser
// state, model, torch RNG state, outlier detector) continues bitwise like the uninterrupted one.
#include "core/train/checkpoint_manager.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "core/train/checkpoint_files.h"
#include "core/train/outlier_detector.h"
#include "core/train/rng_state.h"
#include "distributed/data_partition.h"
#include "distributed/mpi_communicator.h"
#include "distributed/sharded_adamw.h"

namespace brain::train {
namespace {
namespace fs = std::filesystem;

// A fresh run directory shared by every rank (named after rank 0's pid), removed at the end.
class SharedRunDir {
 public:
  SharedRunDir(distributed::Communicator& comm, const std::string& tag) : comm_(comm) {
    torch::Tensor pid = torch::tensor({static_cast<double>(::getpid())}, torch::kDouble);
    comm.Broadcast(pid, 0);
    path_ = fs::temp_directory_path() /
            ("brain_ckpt_mpi_" + tag + "_" + std::to_string(static_cast<int64_t>(pid.item<double>())));
    if (comm.rank() == 0) {
      fs::remove_all(path_);
      fs::create_directories(path_);
    }
    comm.Barrier();
  }
  ~SharedRunDir() {
    comm_.Barrier();
    if (comm_.rank() == 0) fs::remove_all(path_);
  }
  const fs::path& path() const { return path_; }

 private:
  distributed::Communicator& comm_;
  fs::path path_;
};

model::TensorMap RankTensors(int rank, int step) {
  return {{"exp_avg", torch::arange(5 + rank, torch::kDouble) * (rank + 1) + step},
          {"step", torch::tensor({static_cast<int64_t>(step)}, torch::kLong)}};
}

TEST(CheckpointManagerMpi, ShardsRoundTripAndRanksAgreeOnTheNewestComplete) {
  auto comm = distributed::MpiCommunicator::CreateWorld(60);
  SharedRunDir run(*comm, "agree");
  CheckpointManager manager(run.path().string(), comm.get(), 3);
  const model::TensorMap model = {{"w", torch::randn({3, 3})}};  // rank 0's is the one saved
  for (int step : {1, 2}) {
    checkpoint::TrainerState state;
    state.set_step(step);
    auto dir = manager.Save(step, comm->rank() == 0 ? model : model::TensorMap{}, RankTensors(comm->rank(), step),
                            state);
    ASSERT_TRUE(dir.ok()) << dir.status();
  }
  for (int r = 0; r < comm->size(); ++r) {
    EXPECT_TRUE(fs::exists(run.path() / "checkpoints" / StepDirName(2) / RankFileName(r))) << r;
  }
  auto found = manager.FindNewestComplete();
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(fs::path(**found).filename(), StepDirName(2));
  auto loaded = manager.Load(**found);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (const auto& [name, t] : RankTensors(comm->rank(), 2)) EXPECT_TRUE(loaded->rank_tensors.at(name).equal(t));
  // Every rank loaded rank 0's model tensors.
  torch::Tensor w = loaded->model_tensors.at("w").clone();
  torch::Tensor w0 = w.clone();
  comm->Broadcast(w0, 0);
  EXPECT_TRUE(w.equal(w0));
  if (comm->rank() == 0) {
    EXPECT_TRUE(w.equal(model.at("w")));
  }

  // The last rank's shard of step 2 gets one corrupted byte: every rank falls back to step 1. (Loaded
  // tensors map their file: rewriting it in place while they are alive would show through, hence the
  // barrier. Checkpoint writes always create new files, so this only concerns the test.)
  comm->Barrier();
  if (comm->rank() == 0) {
    std::fstream f(run.path() / "checkpoints" / StepDirName(2) / RankFileName(comm->size() - 1),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-3, std::ios::end);
    const char byte = static_cast<char>(f.get());
    f.seekp(-3, std::ios::end);
    f.put(static_cast<char>(byte ^ 0x21));
  }
  comm->Barrier();
  found = manager.FindNewestComplete();
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(fs::path(**found).filename(), StepDirName(1));
  loaded = manager.Load(**found);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (const auto& [name, t] : RankTensors(comm->rank(), 1)) EXPECT_TRUE(loaded->rank_tensors.at(name).equal(t));
}

TEST(CheckpointManagerMpi, AFailureOnOneRankFailsEveryRank) {
  auto comm = distributed::MpiCommunicator::CreateWorld(60);
  SharedRunDir run(*comm, "fail");
  CheckpointManager manager(run.path().string(), comm.get(), 3);
  model::TensorMap mine = RankTensors(comm->rank(), 1);
  // safetensors has no complex dtype: the last rank cannot write its shard.
  if (comm->rank() == comm->size() - 1) mine["bad"] = torch::zeros({2}, torch::kComplexFloat);
  auto dir = manager.Save(1, {{"w", torch::ones({2})}}, mine, {});
  EXPECT_FALSE(dir.ok());
  comm->Barrier();
  EXPECT_FALSE(fs::exists(run.path() / "checkpoints" / StepDirName(1)));
  auto found = manager.FindNewestComplete();
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

// Training with dropout-like noise from torch's generator and outlier skipping: checkpoint after 3
// steps, keep going to 6; a second "process" resumes from the checkpoint and must reach identical bits.
struct Trainer {
  std::vector<torch::Tensor> params;
  std::unique_ptr<distributed::ShardedAdamW> adamw;
  OutlierDetector norms{1.5, 8, 2};
  distributed::Communicator& comm;

  Trainer(distributed::Communicator& c, uint64_t init_seed) : comm(c) {
    torch::manual_seed(init_seed);
    params = {torch::randn({6, 4}, torch::kDouble), torch::randn({6}, torch::kDouble),
              torch::randn({1, 6}, torch::kDouble)};
    for (auto& p : params) p.requires_grad_(true);
    adamw = std::make_unique<distributed::ShardedAdamW>(params, comm, distributed::AdamWOptions{0.9, 0.99, 1e-8, 0.01});
  }
  void Step(int step, const torch::Tensor& x, const torch::Tensor& y) {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    const auto rows = distributed::RankShare(distributed::GlobalPermutation(x.size(0), 3, step), comm.rank(),
                                             comm.size());
    torch::Tensor idx = torch::tensor(rows, torch::kLong);
    torch::Tensor h = torch::tanh(torch::linear(x.index_select(0, idx), params[0], params[1]));
    h = h * (torch::rand_like(h) > 0.2).to(torch::kDouble);  // the torch RNG matters for resume
    ((torch::linear(h, params[2]) - y.index_select(0, idx)).pow(2).sum() / x.size(0)).backward();
    const double norm = adamw->ReduceGradients(false);
    if (norms.Check(norm)) {
      adamw->SkipStep();
    } else {
      adamw->ApplyStep(0.05, distributed::ClipCoefficient(norm, 0.8));
    }
  }
};

TEST(CheckpointManagerMpi, ResumedTrainingIsBitwiseIdentical) {
  auto comm = distributed::MpiCommunicator::CreateWorld(60);
  SharedRunDir run(*comm, "resume");
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({21, 4}, torch::kDouble), y = torch::randn({21, 1}, torch::kDouble);
  // Each rank draws different noise (as data-parallel ranks would), so each rank saves its own RNG state
  // with its optimiser shard.
  Trainer a(*comm, 8);
  torch::manual_seed(100 + comm->rank());
  for (int step = 0; step < 3; ++step) a.Step(step, x, y);
  const int64_t saved_adam_step = a.adamw->step();
  {
    CheckpointManager manager(run.path().string(), comm.get(), 2);
    checkpoint::TrainerState state;
    state.set_step(3);
    (*state.mutable_outlier_detectors())["grad_norm"] = a.norms.ToProto();  // same on every rank
    model::TensorMap model;
    for (size_t i = 0; i < a.params.size(); ++i) model["p" + std::to_string(i)] = a.params[i].detach().clone();
    model::TensorMap mine = a.adamw->StateTensors();
    mine["rng.torch_cpu"] = BytesToTensor(CaptureTorchCpuRngState());
    ASSERT_TRUE(manager.Save(3, model, mine, state).ok());
  }
  for (int step = 3; step < 7; ++step) a.Step(step, x, y);

  torch::manual_seed(12345);  // the new process starts elsewhere
  Trainer b(*comm, 77);
  CheckpointManager manager(run.path().string(), comm.get(), 2);
  auto found = manager.FindNewestComplete();
  ASSERT_TRUE(found.ok() && found->has_value());
  auto loaded = manager.Load(**found);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < b.params.size(); ++i) b.params[i].copy_(loaded->model_tensors.at("p" + std::to_string(i)));
  }
  model::TensorMap optimizer_state = loaded->rank_tensors;
  ASSERT_TRUE(RestoreTorchCpuRngState(TensorToBytes(optimizer_state.at("rng.torch_cpu"))).ok());
  optimizer_state.erase("rng.torch_cpu");
  ASSERT_TRUE(b.adamw->LoadStateTensors(optimizer_state).ok());
  ASSERT_TRUE(b.norms.FromProto(loaded->state.outlier_detectors().at("grad_norm")).ok());
  EXPECT_EQ(b.adamw->step(), saved_adam_step);
  for (int step = 3; step < 7; ++step) b.Step(step, x, y);
  for (size_t i = 0; i < a.params.size(); ++i) EXPECT_TRUE(a.params[i].equal(b.params[i])) << "param " << i;
  EXPECT_EQ(a.adamw->step(), b.adamw->step());
  EXPECT_EQ(a.norms.Median(), b.norms.Median());
}

}  // namespace
}  // namespace brain::train
