// GenerateSamples data-parallel over MPI ranks: each rank samples its strided share of the prompts,
// rank 0 gathers; the union equals one process sampling every prompt (same tokens, same logq).
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/torch.h>

#include <map>
#include <vector>

#include "core/model/model_factory.h"
#include "core/sampling/generator.h"
#include "distributed/data_partition.h"

namespace brain::sampling {
namespace {

TEST(SamplingRanks, ShardedEqualsSingleProcess) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  torch::set_num_threads(1);
  model::CreateModelOptions mo;
  mo.seed = 21;
  mo.vocab_size = 64;
  auto m = model::CreatePresetModel("llama-tiny", mo);
  ASSERT_TRUE(m.ok()) << m.status();
  (*m)->eval();
  std::vector<Prompt> all;
  for (int i = 0; i < 7; ++i) {
    Prompt p{1000 - 11 * i, {}};
    for (int t = 0; t <= i % 4; ++t) p.token_ids.push_back((i * 13 + t * 5) % 63);
    all.push_back(p);
  }
  GenerateOptions g;
  g.sampling.temperature = 0.9;
  g.sampling.top_p = 0.95;
  g.sampling.max_new_tokens = 12;
  g.sampling.batch_size = 5;
  g.seed = {99, 2};
  std::vector<int64_t> order(all.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::vector<Prompt> mine;
  for (const int64_t i : distributed::RankShare(order, rank, size)) mine.push_back(all[i]);
  auto part = GenerateSamples(**m, mine, 3, g);
  ASSERT_TRUE(part.ok()) << part.status();
  // Gather (prompt_id, sample_index, logq, tokens...) records as doubles at every rank.
  std::vector<double> flat;
  for (const auto& s : *part) {
    flat.push_back(static_cast<double>(s.prompt_id));
    flat.push_back(static_cast<double>(s.sample_index));
    flat.push_back(s.logq);
    flat.push_back(static_cast<double>(s.token_ids.size()));
    for (const auto t : s.token_ids) flat.push_back(static_cast<double>(t));
  }
  int count = static_cast<int>(flat.size());
  std::vector<int> counts(size), offsets(size);
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[r] = total;
    total += counts[r];
  }
  std::vector<double> gathered(total);
  MPI_Allgatherv(flat.data(), count, MPI_DOUBLE, gathered.data(), counts.data(), offsets.data(), MPI_DOUBLE,
                 MPI_COMM_WORLD);
  std::map<std::pair<int64_t, int64_t>, std::pair<double, std::vector<int64_t>>> merged;
  for (size_t i = 0; i < gathered.size();) {
    const auto key = std::make_pair(static_cast<int64_t>(gathered[i]), static_cast<int64_t>(gathered[i + 1]));
    const double logq = gathered[i + 2];
    const auto len = static_cast<size_t>(gathered[i + 3]);
    std::vector<int64_t> tokens;
    for (size_t j = 0; j < len; ++j) tokens.push_back(static_cast<int64_t>(gathered[i + 4 + j]));
    EXPECT_TRUE(merged.emplace(key, std::make_pair(logq, tokens)).second) << "duplicate sample";
    i += 4 + len;
  }
  // The single-process reference, with another batch size.
  g.sampling.batch_size = 16;
  auto full = GenerateSamples(**m, all, 3, g);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(merged.size(), full->size());
  for (const auto& s : *full) {
    const auto it = merged.find({s.prompt_id, s.sample_index});
    ASSERT_NE(it, merged.end());
    EXPECT_EQ(it->second.second, s.token_ids) << "prompt " << s.prompt_id << " sample " << s.sample_index;
    EXPECT_NEAR(it->second.first, s.logq, 1e-4);
  }
}

}  // namespace
}  // namespace brain::sampling
