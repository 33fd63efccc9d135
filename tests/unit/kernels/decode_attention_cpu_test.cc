// DecodeAttention and its raw kernel DecodeAttentionCpu (one query per row over its KV-cache slots)
// against an fp64 softmax attention written out with explicit masks.
#include "kernels/decode_attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "kernels/decode_attention_cpu.h"

namespace brain::kernels {
namespace {

torch::Tensor Reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& allowed) {
  const int64_t rep = q.size(1) / k.size(1);
  const auto k64 = k.to(torch::kFloat64).repeat_interleave(rep, 1);
  const auto v64 = v.to(torch::kFloat64).repeat_interleave(rep, 1);
  auto scores = torch::matmul(q.to(torch::kFloat64), k64.transpose(-1, -2)) / std::sqrt(double(q.size(3)));
  if (allowed.defined()) {
    scores = scores.masked_fill(allowed.logical_not().view({q.size(0), 1, 1, -1}),
                                -std::numeric_limits<double>::infinity());
  }
  auto out = torch::matmul(torch::softmax(scores, -1), v64);
  return out.nan_to_num(0.0);  // rows with no allowed slot: zeros
}

struct Case {
  int64_t batch, heads, kv_heads, slots, head_dim;
};

TEST(DecodeAttentionCpuTest, MatchesAnFp64Reference) {
  torch::manual_seed(11);
  // head_dim 16 and 64 and 128 take compiled chunk counts, 80 and 48 the run-time one; 4/2 heads is
  // grouped-query attention; 1 and 300 slots are shorter and longer than the prefetch distance.
  for (const Case& c : {Case{3, 4, 4, 5, 16}, Case{5, 12, 12, 40, 64}, Case{2, 4, 2, 17, 80},
                        Case{4, 8, 2, 300, 128}, Case{2, 6, 3, 1, 48}}) {
    ASSERT_TRUE(DecodeAttentionSupports(c.head_dim));
    const int64_t capacity = c.slots + 7;  // views of a larger cache, as the KV cache hands out
    const auto k = torch::randn({c.batch, c.kv_heads, capacity, c.head_dim}).narrow(2, 0, c.slots);
    const auto v = torch::randn({c.batch, c.kv_heads, capacity, c.head_dim}).narrow(2, 0, c.slots);
    // q as a split of a fused projection: non-contiguous rows and heads.
    const auto qkv = torch::randn({c.batch, 1, 3 * c.heads * c.head_dim}) * 2;
    const auto q = qkv.narrow(2, 0, c.heads * c.head_dim).view({c.batch, 1, c.heads, c.head_dim}).transpose(1, 2);
    auto allowed = torch::rand({c.batch, c.slots}) > 0.3;
    allowed.select(1, c.slots - 1).fill_(true);
    if (c.batch > 2) {
      allowed[1].fill_(false);  // no allowed slot: zeros
      allowed[2].fill_(false);
      allowed[2][c.slots - 1] = true;  // only the last slot
    }
    for (const bool masked : {true, false}) {
      const auto m = masked ? allowed : torch::Tensor();
      const auto got = DecodeAttention(q, k, v, m);
      const auto expect = Reference(q, k, v, m);
      EXPECT_LT((got.to(torch::kFloat64) - expect).abs().max().item<double>(), 2e-6)
          << "B " << c.batch << " H " << c.heads << "/" << c.kv_heads << " T " << c.slots << " hd " << c.head_dim
          << " masked " << masked;
    }
  }
}

TEST(DecodeAttentionCpuTest, AcceptsOnlyOperandsTheKernelReads) {
  const auto q = torch::randn({2, 4, 1, 16});
  const auto k = torch::randn({2, 2, 5, 16});
  const auto allowed = torch::ones({2, 1, 1, 5}, torch::kBool);
  EXPECT_TRUE(DecodeAttentionAccepts(q, k, k, allowed));
  EXPECT_TRUE(DecodeAttentionAccepts(q, k, k, torch::Tensor()));
  EXPECT_FALSE(DecodeAttentionAccepts(torch::randn({2, 4, 2, 16}), k, k, allowed));           // two queries
  EXPECT_FALSE(DecodeAttentionAccepts(q.to(torch::kFloat64), k.to(torch::kFloat64), k.to(torch::kFloat64), allowed));
  EXPECT_FALSE(DecodeAttentionAccepts(torch::randn({2, 4, 1, 8}), torch::randn({2, 2, 5, 8}),
                                      torch::randn({2, 2, 5, 8}), allowed));                  // head_dim 8
  EXPECT_FALSE(DecodeAttentionAccepts(q, torch::randn({2, 3, 5, 16}), torch::randn({2, 3, 5, 16}), allowed));
  EXPECT_FALSE(DecodeAttentionAccepts(q, k, torch::randn({2, 2, 7, 16}).narrow(2, 0, 5), allowed));  // v strides
  EXPECT_FALSE(DecodeAttentionAccepts(q, k, k, torch::ones({2, 1, 1, 4}, torch::kBool)));    // slots differ
  EXPECT_FALSE(DecodeAttentionAccepts(q, k, k, torch::ones({2, 5})));                         // not bool
}

TEST(DecodeAttentionCpuTest, SupportsHeadDimsInWholeVectors) {
  EXPECT_TRUE(DecodeAttentionSupports(16));
  EXPECT_TRUE(DecodeAttentionSupports(256));
  EXPECT_FALSE(DecodeAttentionSupports(8));
  EXPECT_FALSE(DecodeAttentionSupports(72));
  EXPECT_FALSE(DecodeAttentionSupports(272));
}

}  // namespace
}  // namespace brain::kernels
