// Fused vs naive weighted token log-probs, forward + backward: wall time and peak extra memory as JSON lines.
//
// Every (shape, N, implementation) runs in a fresh child process (fork before any torch work), so
// allocator state and page caches of one configuration cannot flatter the next. CPU memory: the child
// builds its inputs, records VmRSS, resets the kernel's RSS high-water mark (`5` > /proc/self/clear_refs)
// and reads VmHWM after one forward + backward; the difference is the peak extra resident memory,
// gradients included. CUDA memory: the caching allocator's peak allocated bytes over the same span.
// Time: a third child alternates naive and fused forward + backward (one warm-up each, then --reps
// each) and keeps each one's minimum, so both see the same machine load. Ratios fused/naive come from
// the same invocation.
//
// Usage: kernels_logprob_benchmark [--device=cpu|cuda] [--shapes=gpt2,llama] [--gpt2_n=1024,2048,...]
//        [--llama_n=...] [--reps=2] [--chunk_rows=0] [--threads=0] [--smoke]
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifdef BRAIN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "kernels/naive_reference.h"
#include "kernels/weighted_token_logprobs.h"

namespace brain::kernels {
namespace {

struct Shape {
  std::string name;
  int64_t vocab;
  int64_t dim;
  std::vector<int64_t> tokens;
};

struct Flags {
  std::string device = "cpu";
  std::vector<Shape> shapes;
  int reps = -1;  // default: 2, or 1 for --smoke
  int64_t chunk_rows = 0;
  int threads = 0;  // intra-op threads; 0 keeps LibTorch's default
};

struct Measurement {
  double peak_extra_bytes = -1;
  double seconds = -1;
};

std::vector<int64_t> ParseList(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  return out;
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  // GPT-2 (V = 50257, d = 768) and a Llama-3 vocabulary with d scaled from 4096 to 1024 so the naive
  // path stays within a few GB on a 24 GB machine.
  Shape gpt2{"gpt2", 50257, 768, {1024, 2048, 4096, 8192}};
  Shape llama{"llama3_d1024", 128256, 1024, {1024, 2048, 4096}};
  std::string shapes = "gpt2,llama";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (key == "--device") {
      flags.device = value;
    } else if (key == "--shapes") {
      shapes = value;
    } else if (key == "--gpt2_n") {
      gpt2.tokens = ParseList(value);
    } else if (key == "--llama_n") {
      llama.tokens = ParseList(value);
    } else if (key == "--reps") {
      flags.reps = std::max(1, std::stoi(value));
    } else if (key == "--chunk_rows") {
      flags.chunk_rows = std::stoll(value);
    } else if (key == "--threads") {
      flags.threads = std::stoi(value);
    } else if (key == "--smoke") {
      shapes = "smoke";
    } else {
      std::fprintf(stderr, "unknown flag %s\n", arg.c_str());
      std::exit(2);
    }
  }
  if (shapes.find("gpt2") != std::string::npos) flags.shapes.push_back(gpt2);
  if (shapes.find("llama") != std::string::npos) flags.shapes.push_back(llama);
  if (shapes == "smoke") {
    flags.shapes.push_back(Shape{"smoke", 1000, 64, {256}});
    if (flags.reps < 0) flags.reps = 1;
  }
  if (flags.reps < 0) flags.reps = 2;
  return flags;
}

// A "Vm...:   123 kB" field of /proc/self/status, in bytes.
double ProcStatusBytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) * 1024.0;
  }
  return -1;
}

void ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

struct Problem {
  torch::Tensor hidden, weight, targets, grad;
};

Problem MakeProblem(const Flags& flags, const Shape& shape, int64_t n) {
  if (flags.threads > 0) torch::set_num_threads(flags.threads);
  const torch::Device device(flags.device == "cuda" ? torch::kCUDA : torch::kCPU);
  torch::manual_seed(1234);
  const auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  Problem p;
  p.hidden = torch::randn({n, shape.dim}, options).requires_grad_();
  p.weight = (torch::randn({shape.vocab, shape.dim}, options) * 0.02).requires_grad_();
  p.targets = torch::randint(0, shape.vocab, {n}, options.dtype(torch::kLong));
  p.grad = torch::randn({n}, options);
  return p;
}

// One forward + backward (gradients w.r.t. hidden and weight), synchronised on CUDA.
void RunOnce(const Flags& flags, const Problem& p, bool fused) {
  WeightedLogprobOptions options;
  options.chunk_rows = flags.chunk_rows;
  const torch::Tensor logprob =
      fused ? WeightedTokenLogprobs(p.hidden, p.weight, p.targets, kDefaultIgnoreIndex, options).logprob
            : NaiveWeightedTokenLogprobs(p.hidden, p.weight, p.targets).logprob;
  const auto grads = torch::autograd::grad({logprob}, {p.hidden, p.weight}, {p.grad});
  if (p.hidden.is_cuda()) torch::cuda::synchronize();
}

// Child body: peak extra memory of the first forward + backward of one implementation.
double MeasurePeakExtraBytes(const Flags& flags, const Shape& shape, int64_t n, bool fused) {
  // Warm up on a tiny problem first, so lazily loaded code and thread pools are not counted.
  RunOnce(flags, MakeProblem(flags, Shape{"warmup", 64, 16, {}}, 8), fused);
  const Problem p = MakeProblem(flags, shape, n);
  if (p.hidden.is_cuda()) {
#ifdef BRAIN_WITH_CUDA
    namespace alloc = c10::cuda::CUDACachingAllocator;
    torch::cuda::synchronize();
    const double base = alloc::getDeviceStats(0).allocated_bytes[0].current;
    alloc::resetPeakStats(0);
    RunOnce(flags, p, fused);
    return alloc::getDeviceStats(0).allocated_bytes[0].peak - base;
#else
    return -1;
#endif
  }
  const double base = ProcStatusBytes("VmRSS");
  ResetPeakRss();
  RunOnce(flags, p, fused);
  return ProcStatusBytes("VmHWM") - base;
}

// Child body: a warm-up of each, then --reps alternating naive/fused runs (so both see the same machine
// load); the minimum time of each.
std::pair<double, double> MeasureSeconds(const Flags& flags, const Shape& shape, int64_t n) {
  const Problem p = MakeProblem(flags, shape, n);
  double best[2] = {-1, -1};
  for (int r = 0; r <= flags.reps; ++r) {
    for (int fused = 0; fused < 2; ++fused) {
      const auto start = std::chrono::steady_clock::now();
      RunOnce(flags, p, fused == 1);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (r > 0) best[fused] = best[fused] < 0 ? s : std::min(best[fused], s);
    }
  }
  return {best[0], best[1]};
}

// Runs `body` in a fresh child process and returns the doubles it produced (empty on failure).
template <typename Body>
std::vector<double> Forked(Body body, size_t count, const std::string& what) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::vector<double> values;
    try {
      values = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s failed: %s\n", what.c_str(), e.what());
    }
    const ssize_t bytes = static_cast<ssize_t>(values.size() * sizeof(double));
    _exit(values.size() == count && write(fds[1], values.data(), bytes) == bytes ? 0 : 1);
  }
  close(fds[1]);
  std::vector<double> values(count);
  const ssize_t bytes = static_cast<ssize_t>(count * sizeof(double));
  if (read(fds[0], values.data(), bytes) != bytes) values.clear();
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return values;
}

void PrintLine(const Flags& flags, const Shape& shape, int64_t n, const std::string& impl,
               const std::string& metric, double value, const std::string& unit) {
  std::printf(
      "{\"name\": \"weighted_token_logprobs_fwd_bwd\", \"impl\": \"%s\", \"device\": \"%s\", \"shape\": "
      "{\"model\": \"%s\", \"N\": %lld, \"d\": %lld, \"V\": %lld, \"dtype\": \"fp32\"}, \"metric\": \"%s\", "
      "\"value\": %.6g, \"unit\": \"%s\"}\n",
      impl.c_str(), flags.device.c_str(), shape.name.c_str(), static_cast<long long>(n),
      static_cast<long long>(shape.dim), static_cast<long long>(shape.vocab), metric.c_str(), value,
      unit.c_str());
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  int failures = 0;
  for (const Shape& shape : flags.shapes) {
    for (int64_t n : shape.tokens) {
      const std::string what = shape.name + " N=" + std::to_string(n);
      const std::vector<double> naive_mem =
          Forked([&] { return std::vector<double>{MeasurePeakExtraBytes(flags, shape, n, false)}; }, 1, what);
      const std::vector<double> fused_mem =
          Forked([&] { return std::vector<double>{MeasurePeakExtraBytes(flags, shape, n, true)}; }, 1, what);
      const std::vector<double> seconds = Forked(
          [&] {
            const auto [naive, fused] = MeasureSeconds(flags, shape, n);
            return std::vector<double>{naive, fused};
          },
          2, what);
      if (naive_mem.empty() || fused_mem.empty() || seconds.empty()) {
        ++failures;
        continue;
      }
      const Measurement naive{naive_mem[0], seconds[0]}, fused{fused_mem[0], seconds[1]};
      constexpr double kMiB = 1024.0 * 1024.0;
      PrintLine(flags, shape, n, "naive", "peak_extra_memory", naive.peak_extra_bytes / kMiB, "MiB");
      PrintLine(flags, shape, n, "fused", "peak_extra_memory", fused.peak_extra_bytes / kMiB, "MiB");
      PrintLine(flags, shape, n, "naive", "time", naive.seconds, "s");
      PrintLine(flags, shape, n, "fused", "time", fused.seconds, "s");
      PrintLine(flags, shape, n, "fused/naive", "peak_extra_memory_ratio",
                fused.peak_extra_bytes / naive.peak_extra_bytes, "ratio");
      PrintLine(flags, shape, n, "fused/naive", "time_ratio", fused.seconds / naive.seconds, "ratio");
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace brain::kernels

int main(int argc, char** argv) { return brain::kernels::Main(argc, argv); }
