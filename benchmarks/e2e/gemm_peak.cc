// gemm_peak: the fp32 matrix-multiply throughput brain reaches on this machine, at given shapes and
// thread count — the "peak" that run_e2e.py divides achieved model FLOP/s by (MFU). Prints one JSON line:
//   {"threads": T, "shapes": [{"m":..,"k":..,"n":..,"gflops":..,"gflops_mm":..,"gflops_onednn":..}, ...],
//    "peak_gflops": max}
// usage: gemm_peak --threads 2 --shapes 512x768x2304,512x768x50257 [--min-seconds 0.5]
// Each shape multiplies A[m,k] by B[k,n] (random normal) two ways: torch::mm (MKL: what training runs)
// and the oneDNN inner product brain's inference layers use (core/model/cpu_inference_linear.h; 0 when
// LibTorch lacks oneDNN). Each after one warm-up call, repeated until --min-seconds has passed;
// GFLOP/s = 2·m·k·n·reps / seconds / 1e9, and a shape's gflops is the faster of the two.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/model/cpu_inference_linear.h"

namespace {

struct Shape {
  int64_t m = 0, k = 0, n = 0;
};

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == "--" + name) return argv[i + 1];
  }
  return fallback;
}

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr, "gemm_peak: %s\nusage: gemm_peak --threads T --shapes MxKxN[,MxKxN...] [--min-seconds S]\n",
               why.c_str());
  std::exit(2);
}

std::vector<Shape> ParseShapes(const std::string& text) {
  std::vector<Shape> shapes;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> dims = absl::StrSplit(item, 'x');
    Shape s;
    if (dims.size() != 3 || !absl::SimpleAtoi(dims[0], &s.m) || !absl::SimpleAtoi(dims[1], &s.k) ||
        !absl::SimpleAtoi(dims[2], &s.n) || s.m <= 0 || s.k <= 0 || s.n <= 0) {
      Usage("--shapes: '" + std::string(item) + "' is not MxKxN with positive integers");
    }
    shapes.push_back(s);
  }
  if (shapes.empty()) Usage("--shapes: no shapes given");
  return shapes;
}

// GFLOP/s of `multiply` for an m x k x n product, repeated until `min_seconds` have passed.
template <typename F>
double Rate(const Shape& s, double min_seconds, const F& multiply) {
  multiply();  // warm-up (allocation, packing)
  int64_t reps = 0;
  const auto start = std::chrono::steady_clock::now();
  double seconds = 0;
  while (seconds < min_seconds) {
    multiply();
    ++reps;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return 2.0 * s.m * s.k * s.n * reps / seconds / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  double min_seconds = 0.5;
  if (!absl::SimpleAtoi(Flag(argc, argv, "threads", "0"), &threads) || threads < 0) Usage("--threads: integer >= 0");
  if (!absl::SimpleAtod(Flag(argc, argv, "min-seconds", "0.5"), &min_seconds) || !(min_seconds > 0)) {
    Usage("--min-seconds: number > 0");
  }
  const std::vector<Shape> shapes = ParseShapes(Flag(argc, argv, "shapes", ""));
  if (threads > 0) torch::set_num_threads(threads);
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  double peak = 0;
  std::string rows;
  for (const Shape& s : shapes) {
    const torch::Tensor a = torch::randn({s.m, s.k});
    const torch::Tensor b = torch::randn({s.k, s.n});
    torch::Tensor c = torch::empty({s.m, s.n});
    const double mm = Rate(s, min_seconds, [&] { torch::mm_out(c, a, b); });
    const torch::Tensor weight = b.t();  // [n, k], read in place like GPT-2's Conv1D weights
    const double onednn = brain::model::UseCpuInferenceLinear(a, weight)
                              ? Rate(s, min_seconds, [&] { brain::model::CpuInferenceLinear(a, weight, {}); })
                              : 0.0;
    const double gflops = std::max(mm, onednn);
    peak = std::max(peak, gflops);
    char row[256];
    std::snprintf(row, sizeof(row), "%s{\"m\":%lld,\"k\":%lld,\"n\":%lld,\"gflops\":%.3f,\"gflops_mm\":%.3f,\"gflops_onednn\":%.3f}",
                  rows.empty() ? "" : ",", static_cast<long long>(s.m), static_cast<long long>(s.k),
                  static_cast<long long>(s.n), gflops, mm, onednn);
    rows += row;
  }
  std::printf("{\"threads\":%d,\"shapes\":[%s],\"peak_gflops\":%.3f}\n", torch::get_num_threads(), rows.c_str(),
              peak);
  return 0;
}
