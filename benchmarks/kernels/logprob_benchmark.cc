// Fused vs naive weighted log-likelihood, forward + backward: wall time and peak extra memory as JSON lines.
//
// Every (shape, N, implementation) runs in a fresh child process (fork before any torch work), so
// allocator state and page caches of one configuration cannot flatter the next. CPU memory: the child
// builds its inputs, records VmRSS, resets the kernel's RSS high-water mark (`5` > /proc/self/clear_refs)
// and reads VmHWM after one forward + backward; the difference is the peak extra resident memory,
// gradients included. CUDA memory: the caching allocator's peak allocated bytes over the same span.
// Time: one more child alternates naive and each fused op, forward + backward (after a tiny warm-up;
// --warmup=1 adds a full-size one), --reps times each, and keeps each one's median, so all see the
// same machine load. Ops: `tokens` = WeightedTokenLogprobs (per-token log-probs, backward with any
// per-token gradient: 4 matmuls), `sum` = WeightedLogprobSum (weights known at forward: 3 matmuls).
// Both compute the same gradients as the naive path. Ratios fused/naive come from the same child.
//
// Usage: kernels_logprob_benchmark [--device=cpu|cuda] [--shapes=gpt2,llama] [--gpt2_n=1024,2048,...]
//        [--llama_n=...] [--ops=tokens,sum] [--reps=3] [--warmup=0] [--memory=1] [--chunk_rows=0]
//        [--threads=0] [--smoke]
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
#include "kernels/weighted_logprob_sum.h"
#include "kernels/weighted_token_logprobs.h"

namespace brain::kernels {
namespace {

struct Shape {
  std::string name;
  int64_t vocab;
  int64_t dim;
  std::vector<int64_t> tokens;
};

// The implementations timed: the naive reference and the two fused ops.
enum Impl { kNaive = 0, kTokens = 1, kSum = 2 };
constexpr const char* kImplNames[] = {"naive", "fused", "fused"};
constexpr const char* kOpNames[] = {"", "weighted_token_logprobs_fwd_bwd", "weighted_logprob_sum_fwd_bwd"};

struct Flags {
  std::string device = "cpu";
  std::vector<Shape> shapes;
  std::vector<Impl> ops = {kTokens, kSum};
  bool warmup = false;
  bool memory = true;  // --memory=0 skips the peak-memory children (time only)
  int reps = -1;  // default: 3, or 1 for --smoke
  int64_t chunk_rows = 0;
  int threads = 0;  // intra-op threads; 0 keeps LibTorch's default
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
    } else if (key == "--ops") {
      flags.ops.clear();
      if (value.find("tokens") != std::string::npos) flags.ops.push_back(kTokens);
      if (value.find("sum") != std::string::npos) flags.ops.push_back(kSum);
    } else if (key == "--memory") {
      flags.memory = value != "0";
    } else if (key == "--warmup") {
      flags.warmup = value != "0";
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
  if (flags.reps < 0) flags.reps = 3;
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

// One forward + backward (gradients w.r.t. hidden and weight of Σ_i grad_i·logprob_i), synchronised on
// CUDA.
void RunOnce(const Flags& flags, const Problem& p, Impl impl) {
  WeightedLogprobOptions options;
  options.chunk_rows = flags.chunk_rows;
  if (impl == kSum) {
    const torch::Tensor loss =
        WeightedLogprobSum(p.hidden, p.weight, p.targets, p.grad, kDefaultIgnoreIndex, options).loss;
    const auto grads = torch::autograd::grad({loss}, {p.hidden, p.weight});
  } else {
    const torch::Tensor logprob =
        impl == kTokens ? WeightedTokenLogprobs(p.hidden, p.weight, p.targets, kDefaultIgnoreIndex, options).logprob
                        : NaiveWeightedTokenLogprobs(p.hidden, p.weight, p.targets).logprob;
    const auto grads = torch::autograd::grad({logprob}, {p.hidden, p.weight}, {p.grad});
  }
  if (p.hidden.is_cuda()) torch::cuda::synchronize();
}

// Child body: peak extra memory of the first forward + backward of one implementation.
double MeasurePeakExtraBytes(const Flags& flags, const Shape& shape, int64_t n, Impl impl) {
  // Warm up on a tiny problem first, so lazily loaded code and thread pools are not counted.
  RunOnce(flags, MakeProblem(flags, Shape{"warmup", 64, 16, {}}, 8), impl);
  const Problem p = MakeProblem(flags, shape, n);
  if (p.hidden.is_cuda()) {
#ifdef BRAIN_WITH_CUDA
    namespace alloc = c10::cuda::CUDACachingAllocator;
    torch::cuda::synchronize();
    const double base = alloc::getDeviceStats(0).allocated_bytes[0].current;
    alloc::resetPeakStats(0);
    RunOnce(flags, p, impl);
    return alloc::getDeviceStats(0).allocated_bytes[0].peak - base;
#else
    return -1;
#endif
  }
  const double base = ProcStatusBytes("VmRSS");
  ResetPeakRss();
  RunOnce(flags, p, impl);
  return ProcStatusBytes("VmHWM") - base;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t k = values.size();
  return k % 2 == 1 ? values[k / 2] : 0.5 * (values[k / 2 - 1] + values[k / 2]);
}

// Child body: --reps rounds alternating naive and each fused op (so all see the same machine load);
// the median time of each, naive first then flags.ops in order.
std::vector<double> MeasureSeconds(const Flags& flags, const Shape& shape, int64_t n) {
  std::vector<Impl> impls = {kNaive};
  impls.insert(impls.end(), flags.ops.begin(), flags.ops.end());
  for (Impl impl : impls) RunOnce(flags, MakeProblem(flags, Shape{"warmup", 64, 16, {}}, 8), impl);
  const Problem p = MakeProblem(flags, shape, n);
  std::vector<std::vector<double>> times(impls.size());
  for (int r = flags.warmup ? 0 : 1; r <= flags.reps; ++r) {
    for (size_t i = 0; i < impls.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      RunOnce(flags, p, impls[i]);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (r > 0) times[i].push_back(s);
    }
  }
  std::vector<double> out;
  for (const auto& t : times) out.push_back(Median(t));
  return out;
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

void PrintLine(const Flags& flags, const Shape& shape, int64_t n, const std::string& name,
               const std::string& impl, const std::string& metric, double value, const std::string& unit) {
  std::printf(
      "{\"name\": \"%s\", \"impl\": \"%s\", \"device\": \"%s\", \"shape\": "
      "{\"model\": \"%s\", \"N\": %lld, \"d\": %lld, \"V\": %lld, \"dtype\": \"fp32\"}, \"metric\": \"%s\", "
      "\"value\": %.6g, \"unit\": \"%s\", \"reps\": %d, \"threads\": %d}\n",
      name.c_str(), impl.c_str(), flags.device.c_str(), shape.name.c_str(), static_cast<long long>(n),
      static_cast<long long>(shape.dim), static_cast<long long>(shape.vocab), metric.c_str(), value,
      unit.c_str(), flags.reps, flags.threads > 0 ? flags.threads : torch::get_num_threads());
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  int failures = 0;
  constexpr double kMiB = 1024.0 * 1024.0;
  for (const Shape& shape : flags.shapes) {
    for (int64_t n : shape.tokens) {
      const std::string what = shape.name + " N=" + std::to_string(n);
      std::vector<Impl> impls = {kNaive};
      impls.insert(impls.end(), flags.ops.begin(), flags.ops.end());
      std::vector<double> memory;
      for (Impl impl : impls) {
        if (!flags.memory) {
          memory.push_back(0);
          continue;
        }
        const std::vector<double> m =
            Forked([&] { return std::vector<double>{MeasurePeakExtraBytes(flags, shape, n, impl)}; }, 1, what);
        memory.push_back(m.empty() ? -1 : m[0]);
      }
      const std::vector<double> seconds =
          Forked([&] { return MeasureSeconds(flags, shape, n); }, impls.size(), what);
      if (seconds.empty() || *std::min_element(memory.begin(), memory.end()) < 0) {
        ++failures;
        continue;
      }
      for (size_t i = 1; i < impls.size(); ++i) {
        const std::string op = kOpNames[impls[i]];
        if (flags.memory) {
          PrintLine(flags, shape, n, op, "naive", "peak_extra_memory", memory[0] / kMiB, "MiB");
          PrintLine(flags, shape, n, op, kImplNames[impls[i]], "peak_extra_memory", memory[i] / kMiB, "MiB");
          PrintLine(flags, shape, n, op, "fused/naive", "peak_extra_memory_ratio", memory[i] / memory[0], "ratio");
        }
        PrintLine(flags, shape, n, op, "naive", "time_median", seconds[0], "s");
        PrintLine(flags, shape, n, op, kImplNames[impls[i]], "time_median", seconds[i], "s");
        PrintLine(flags, shape, n, op, "fused/naive", "time_ratio", seconds[i] / seconds[0], "ratio");
      }
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace brain::kernels

int main(int argc, char** argv) { return brain::kernels::Main(argc, argv); }
