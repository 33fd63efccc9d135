// Tests of the CPU chunk kernels against a double reference: the row kernels (row statistics, logit
// gradient, both fused) on [rows, V] chunks and the column kernels on the same chunks stored [V, rows].
#include "kernels/logprob_columns_cpu.h"
#include "kernels/logprob_rows_cpu.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
#include <vector>

namespace brain::kernels::internal {
namespace {

constexpr int64_t kIgnore = -100;

struct Chunk {
  torch::Tensor logits;   // [rows, V] fp32, with some −inf entries
  torch::Tensor targets;  // [rows], some ignored
  torch::Tensor grad;     // [rows], some 0
};

// V = 1037 (not a multiple of any vector width); row 2 ignored, row 3 has grad 0, row 4 extreme.
Chunk MakeChunk() {
  torch::manual_seed(3);
  Chunk c;
  c.logits = torch::randn({6, 1037}) * 4.0;
  c.logits.index_put_({0, torch::arange(0, 1037, 7)}, -std::numeric_limits<float>::infinity());
  c.logits[4].mul_(2500.0);  // |z| ~ 1e4
  c.targets = torch::tensor(std::vector<int64_t>{5, 1036, kIgnore, 9, 100, 0});
  c.grad = torch::tensor({1.5, -0.5, 2.0, 0.0, 0.75, -2.0});
  return c;
}

// Double reference: log_softmax per row, entropy with 0·log 0 = 0, gradient g·(onehot − softmax).
struct Reference {
  torch::Tensor lse, logprob, entropy, grad_logits;
};

Reference MakeReference(const Chunk& c) {
  const torch::Tensor z = c.logits.to(torch::kDouble);
  Reference r;
  r.lse = torch::logsumexp(z, 1);
  const torch::Tensor logp = z - r.lse.unsqueeze(1);
  const torch::Tensor p = logp.exp();
  r.entropy = -torch::where(p > 0, p * logp, torch::zeros_like(p)).sum(1);
  const torch::Tensor valid = c.targets.ne(kIgnore);
  const torch::Tensor safe = torch::where(valid, c.targets, torch::zeros_like(c.targets));
  r.logprob = torch::where(valid, logp.gather(1, safe.unsqueeze(1)).squeeze(1), torch::zeros_like(r.lse));
  const torch::Tensor g = torch::where(valid, c.grad.to(torch::kDouble), torch::zeros_like(r.lse));
  r.grad_logits = (torch::one_hot(safe, z.size(1)).to(torch::kDouble) - p) * g.unsqueeze(1);
  return r;
}

// The six rows of MakeChunk followed by `extra` random rows (so the columns split over threads).
Chunk MakeWideChunk(int64_t extra) {
  Chunk c = MakeChunk();
  torch::manual_seed(11);
  c.logits = torch::cat({c.logits, torch::randn({extra, c.logits.size(1)}) * 3.0});
  c.targets = torch::cat({c.targets, torch::randint(0, c.logits.size(1), {extra}, torch::kLong)});
  c.grad = torch::cat({c.grad, torch::randn({extra})});
  return c;
}

double MaxAbs(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

TEST(LogprobRowsCpuTest, RowStatsMatchDoubleReference) {
  const Chunk c = MakeChunk();
  const Reference ref = MakeReference(c);
  torch::Tensor lse = torch::zeros({6}), logprob = torch::zeros({6}), entropy = torch::zeros({6});
  const torch::Tensor before = c.logits.clone();
  RowStatsCpu(c.logits, c.targets, kIgnore, lse, logprob, entropy);
  EXPECT_TRUE(torch::equal(before, c.logits));  // logits left unchanged
  EXPECT_LT(MaxAbs(lse, ref.lse) / ref.lse.abs().max().item<double>(), 1e-6);
  EXPECT_LT(MaxAbs(logprob, ref.logprob), 2e-3);  // |logprob| up to ~1e4: a few fp32 ulps
  EXPECT_LT(MaxAbs(logprob.narrow(0, 0, 4), ref.logprob.narrow(0, 0, 4)), 1e-5);
  EXPECT_EQ(logprob[2].item<float>(), 0.0f);
  EXPECT_LT(MaxAbs(entropy, ref.entropy), 2e-5);
  EXPECT_TRUE(torch::isfinite(entropy).all().item<bool>());
}

TEST(LogprobRowsCpuTest, LogitGradientMatchesDoubleReference) {
  Chunk c = MakeChunk();
  const Reference ref = MakeReference(c);
  LogitGradInPlaceCpu(c.logits, ref.lse.to(torch::kFloat), c.grad, c.targets, kIgnore);
  EXPECT_LT(MaxAbs(c.logits, ref.grad_logits), 1e-6);
  EXPECT_TRUE(c.logits[2].eq(0).all().item<bool>());  // ignored row
  EXPECT_TRUE(c.logits[3].eq(0).all().item<bool>());  // grad 0
}

TEST(LogprobRowsCpuTest, FusedStatsAndGradientMatchDoubleReference) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    Chunk c = MakeChunk();
    c.logits = c.logits.to(dtype);
    const Reference ref = MakeReference(c);
    const auto opts = torch::TensorOptions().dtype(dtype);
    torch::Tensor lse = torch::zeros({6}, opts), logprob = torch::zeros({6}, opts);
    RowStatsAndGradInPlaceCpu(c.logits, c.targets, kIgnore, c.grad.to(dtype), lse, logprob, torch::Tensor());
    const double tol = dtype == torch::kDouble ? 1e-12 : 1e-6;
    EXPECT_LT(MaxAbs(c.logits, ref.grad_logits), tol);
    EXPECT_LT(MaxAbs(logprob.narrow(0, 0, 4), ref.logprob.narrow(0, 0, 4)), 1e3 * tol);
    EXPECT_TRUE(c.logits[2].eq(0).all().item<bool>());
  }
}

TEST(LogprobRowsCpuTest, RejectsUnsupportedChunks) {
  const Chunk c = MakeChunk();
  torch::Tensor lse = torch::zeros({6}), logprob = torch::zeros({6});
  EXPECT_FALSE(RowKernelsCpuSupport(c.logits.t()));
  EXPECT_FALSE(RowKernelsCpuSupport(c.logits.to(torch::kBFloat16)));
  EXPECT_THROW(RowStatsCpu(c.logits.t(), c.targets, kIgnore, lse, logprob, torch::Tensor()), c10::Error);
  EXPECT_THROW(RowStatsCpu(c.logits, c.targets.narrow(0, 0, 5), kIgnore, lse, logprob, torch::Tensor()),
               c10::Error);
}

TEST(LogprobColumnsCpuTest, ColumnStatsMatchDoubleReference) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    const Chunk c = MakeWideChunk(45);
    const Reference ref = MakeReference(c);
    const auto opts = torch::TensorOptions().dtype(dtype);
    const int64_t rows = c.logits.size(0);
    const torch::Tensor logits_t = c.logits.to(dtype).t().contiguous();
    const torch::Tensor before = logits_t.clone();
    torch::Tensor lse = torch::zeros({rows}, opts), logprob = torch::zeros({rows}, opts);
    torch::Tensor entropy = torch::zeros({rows}, opts);
    // Three uneven vocabulary blocks folded in turn: the summaries must merge across blocks.
    ColumnSummary summary = EmptyColumnSummary(rows, dtype);
    for (const auto& [first, count] : std::vector<std::pair<int64_t, int64_t>>{{0, 500}, {500, 37}, {537, 500}}) {
      AccumulateColumnsCpu(logits_t.narrow(0, first, count).contiguous(), first, c.targets, true, summary);
    }
    FinishColumns(summary, c.targets, kIgnore, lse, logprob, entropy);
    EXPECT_TRUE(torch::equal(before, logits_t));
    const double tol = dtype == torch::kDouble ? 1e-12 : 1e-6;
    EXPECT_LT(MaxAbs(lse, ref.lse) / ref.lse.abs().max().item<double>(), tol);
    EXPECT_LT(MaxAbs(logprob.narrow(0, 0, 4), ref.logprob.narrow(0, 0, 4)), 10 * tol);
    EXPECT_LT(MaxAbs(logprob.narrow(0, 5, rows - 5), ref.logprob.narrow(0, 5, rows - 5)), 10 * tol);
    EXPECT_LT(MaxAbs(logprob, ref.logprob), dtype == torch::kDouble ? 1e-9 : 2e-3);  // row 4: |z| ~ 1e4
    EXPECT_EQ(logprob[2].item<double>(), 0.0);
    EXPECT_LT(MaxAbs(entropy, ref.entropy), 20 * tol);
  }
}

TEST(LogprobColumnsCpuTest, ColumnGradientMatchesDoubleReference) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    const Chunk c = MakeWideChunk(45);
    const Reference ref = MakeReference(c);
    torch::Tensor grad_t = c.logits.to(dtype).t().contiguous();
    ColumnLogitGradInPlaceCpu(grad_t, ref.lse.to(dtype), c.grad.to(dtype), c.targets, kIgnore);
    EXPECT_LT(MaxAbs(grad_t.t(), ref.grad_logits), dtype == torch::kDouble ? 1e-12 : 1e-6);
    EXPECT_TRUE(grad_t.select(1, 2).eq(0).all().item<bool>());  // ignored column
    EXPECT_TRUE(grad_t.select(1, 3).eq(0).all().item<bool>());  // grad 0
    // By vocabulary blocks: each adds +g only for the targets among its own rows.
    const torch::Tensor full_t = c.logits.to(dtype).t().contiguous();
    torch::Tensor low = full_t.narrow(0, 0, 600).contiguous(), high = full_t.narrow(0, 600, 437).contiguous();
    ColumnLogitGradInPlaceCpu(low, ref.lse.to(dtype), c.grad.to(dtype), c.targets, kIgnore, 0);
    ColumnLogitGradInPlaceCpu(high, ref.lse.to(dtype), c.grad.to(dtype), c.targets, kIgnore, 600);
    EXPECT_TRUE(torch::equal(torch::cat({low, high}), grad_t));
  }
}

TEST(LogprobColumnsCpuTest, ColumnWithoutFiniteLogitsHasNoMass) {
  torch::Tensor logits_t = torch::randn({300, 3});
  logits_t.select(1, 1).fill_(-std::numeric_limits<float>::infinity());
  const torch::Tensor targets = torch::tensor(std::vector<int64_t>{4, 7, 9});
  torch::Tensor lse = torch::zeros({3}), logprob = torch::zeros({3}), entropy = torch::zeros({3});
  ColumnSummary summary = EmptyColumnSummary(3, torch::kFloat);
  AccumulateColumnsCpu(logits_t, 0, targets, true, summary);
  FinishColumns(summary, targets, kIgnore, lse, logprob, entropy);
  EXPECT_TRUE(std::isinf(lse[1].item<float>()) && lse[1].item<float>() < 0);
  EXPECT_TRUE(std::isnan(logprob[1].item<float>()));
  EXPECT_EQ(entropy[1].item<float>(), 0.0f);
  EXPECT_TRUE(torch::isfinite(logprob.index({torch::tensor(std::vector<int64_t>{0, 2})})).all().item<bool>());
  torch::Tensor grad_t = logits_t.clone();
  ColumnLogitGradInPlaceCpu(grad_t, lse, torch::ones({3}), targets, kIgnore);
  EXPECT_TRUE(grad_t.select(1, 1).eq(0).all().item<bool>());
}

TEST(LogprobColumnsCpuTest, RejectsUnsupportedChunks) {
  const Chunk c = MakeChunk();
  torch::Tensor lse = torch::zeros({6}), logprob = torch::zeros({6});
  EXPECT_FALSE(ColumnKernelsCpuSupport(c.logits.t()));
  EXPECT_FALSE(ColumnKernelsCpuSupport(c.logits.t().contiguous().to(torch::kBFloat16)));
  ColumnSummary summary = EmptyColumnSummary(6, torch::kFloat);
  EXPECT_THROW(AccumulateColumnsCpu(c.logits.t(), 0, c.targets, false, summary), c10::Error);
  EXPECT_THROW(AccumulateColumnsCpu(c.logits.t().contiguous(), 0, c.targets.narrow(0, 0, 5), false, summary),
               c10::Error);
  EXPECT_THROW(ColumnLogitGradInPlaceCpu(summary.sum, lse, logprob, c.targets, kIgnore), c10::Error);
}

}  // namespace
}  // namespace brain::kernels::internal
