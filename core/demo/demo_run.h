// RunDemo: the whole `brain demo` — task data, SFT, reward model, BRAIn and DPO with matched budgets,
// and the comparison table under the hidden gold reward.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "distributed/communicator.h"

namespace brain::demo {

struct DemoOptions {
  std::string out_dir = "runs/demo";  // data/, sft/, rm/, brain/, dpo/, results.json
  std::string configs_dir = "configs";  // demo-sft, demo-rm, demo (BRAIn), demo-dpo .textproto
  bool quiet = false;
};

struct DemoRow {
  std::string method;
  double gold_reward = 0;
  double win_rate = 0;     // vs SFT under the gold reward, ties half
  double kl_to_sft = 0;    // mean log π(y) − log p_sft(y) over the method's samples
  double length = 0;       // mean response tokens (EOS included)
  double train_seconds = 0;
  std::string budget;      // optimiser steps × sequences
};

struct DemoResult {
  std::vector<DemoRow> rows;  // SFT, best-of-8 (RM-selected), DPO, BRAIn
  double reward_model_accuracy = 0;  // held-out pairs, ties half
  double total_seconds = 0;
  std::string Table() const;
};

// Collective (run under mpirun; any rank count). Writes out_dir/results.json on rank 0.
absl::StatusOr<DemoResult> RunDemo(const DemoOptions& options, distributed::Communicator& comm);

}  // namespace brain::demo
