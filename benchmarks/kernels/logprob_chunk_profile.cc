// Per-chunk profile of the fused log-likelihood on the CPU: matmuls vs row passes, by chunk size.
//
// For one chunk of `rows` tokens at a given (V, d) it times, each as the median of --reps runs: the
// logits matmul into a reused buffer, the row statistics (fused CPU kernel and the plain-ATen passes
// it replaced), the in-place logit gradient (both), the fused statistics + gradient, and the two
// gradient matmuls; then the same steps on the vocab-major layout the CPU path uses ([V, rows] logits,
// column kernels, transposed-operand matmuls). Prints JSON lines {name, shape, metric, value, unit}.
//
// Usage: kernels_logprob_chunk_profile [--vocab=50257] [--dim=768] [--rows=64,128,256,512] [--reps=3]
//        [--threads=1]
#include <ATen/ATen.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/logprob_chunk_ops.h"
#include "kernels/logprob_columns_cpu.h"
#include "kernels/logprob_rows_cpu.h"

namespace brain::kernels {
namespace {

double MedianSeconds(int reps, const std::function<void()>& body) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    body();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int Main(int argc, char** argv) {
  int64_t vocab = 50257, dim = 768;
  int reps = 3, threads = 1;
  std::vector<int64_t> chunk_rows = {64, 128, 256, 512};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (key == "--vocab") {
      vocab = std::stoll(value);
    } else if (key == "--dim") {
      dim = std::stoll(value);
    } else if (key == "--reps") {
      reps = std::max(1, std::stoi(value));
    } else if (key == "--threads") {
      threads = std::stoi(value);
    } else if (key == "--rows") {
      chunk_rows.clear();
      std::stringstream in(value);
      for (std::string item; std::getline(in, item, ',');) chunk_rows.push_back(std::stoll(item));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", arg.c_str());
      return 2;
    }
  }
  if (threads > 0) torch::set_num_threads(threads);
  torch::manual_seed(7);
  const at::Tensor weight = torch::randn({vocab, dim}) * 0.02;
  at::Tensor grad_weight = torch::zeros({vocab, dim});
  for (int64_t rows : chunk_rows) {
    const at::Tensor hidden = torch::randn({rows, dim});
    const at::Tensor targets = torch::randint(0, vocab, {rows}, torch::kLong);
    const at::Tensor grad = torch::randn({rows});
    at::Tensor lse = torch::zeros({rows}), logprob = torch::zeros({rows}), grad_hidden = torch::zeros({rows, dim});
    at::Tensor buffer;
    at::Tensor logits = internal::ChunkLogitsInto(hidden, weight, rows, buffer);
    auto report = [&](const char* metric, double seconds) {
      std::printf(
          "{\"name\": \"logprob_chunk_profile\", \"shape\": {\"V\": %lld, \"d\": %lld, \"rows\": %lld, "
          "\"threads\": %d}, \"metric\": \"%s\", \"value\": %.6g, \"unit\": \"ms\"}\n",
          static_cast<long long>(vocab), static_cast<long long>(dim), static_cast<long long>(rows), threads, metric,
          seconds * 1e3);
      std::fflush(stdout);
    };
    auto recompute = [&] { logits = internal::ChunkLogitsInto(hidden, weight, rows, buffer); };
    report("matmul_logits", MedianSeconds(reps, recompute));
    report("row_stats_fused", MedianSeconds(reps, [&] {
             internal::RowStatsCpu(logits, targets, -100, lse, logprob, at::Tensor());
           }));
    report("row_stats_aten", MedianSeconds(reps, [&] {
             internal::ChunkRowStatsAten(logits, targets, -100, lse, logprob, at::Tensor());
           }));
    // The gradient passes overwrite the logits: time them on a fresh copy each run.
    at::Tensor scratch = logits.clone();
    auto fresh = [&] { scratch.copy_(logits); };
    const double copy = MedianSeconds(reps, fresh);
    report("logit_grad_fused", MedianSeconds(reps, [&] {
                                 fresh();
                                 internal::LogitGradInPlaceCpu(scratch, lse, grad, targets, -100);
                               }) - copy);
    report("logit_grad_aten", MedianSeconds(reps, [&] {
                                fresh();
                                internal::ChunkLogitGradInPlaceAten(scratch, lse, grad, targets, -100);
                              }) - copy);
    report("row_stats_and_grad_fused", MedianSeconds(reps, [&] {
                                         fresh();
                                         internal::RowStatsAndGradInPlaceCpu(scratch, targets, -100, grad, lse,
                                                                             logprob, at::Tensor());
                                       }) - copy);
    report("matmul_grad_hidden", MedianSeconds(reps, [&] { at::mm_out(grad_hidden, scratch, weight); }));
    report("matmul_grad_weight", MedianSeconds(reps, [&] { grad_weight.addmm_(scratch.t(), hidden); }));

    at::Tensor logits_t = at::empty({vocab, rows});
    report("vocab_major_matmul_logits", MedianSeconds(reps, [&] { at::mm_out(logits_t, weight, hidden.t()); }));
    report("column_stats", MedianSeconds(reps, [&] {
             internal::ColumnSummary summary = internal::EmptyColumnSummary(rows, at::kFloat);
             internal::AccumulateColumnsCpu(logits_t, 0, targets, /*with_entropy=*/false, summary);
             internal::FinishColumns(summary, targets, -100, lse, logprob, at::Tensor());
           }));
    at::Tensor scratch_t = logits_t.clone();
    const double copy_t = MedianSeconds(reps, [&] { scratch_t.copy_(logits_t); });
    report("column_logit_grad", MedianSeconds(reps, [&] {
                                  scratch_t.copy_(logits_t);
                                  internal::ColumnLogitGradInPlaceCpu(scratch_t, lse, grad, targets, -100);
                                }) - copy_t);
    report("vocab_major_matmul_grad_hidden",
           MedianSeconds(reps, [&] { at::mm_out(grad_hidden, scratch_t.t(), weight); }));
    report("vocab_major_matmul_grad_weight",
           MedianSeconds(reps, [&] { grad_weight.addmm_(scratch_t, hidden); }));
  }
  return 0;
}

}  // namespace
}  // namespace brain::kernels

int main(int argc, char** argv) { return brain::kernels::Main(argc, argv); }
