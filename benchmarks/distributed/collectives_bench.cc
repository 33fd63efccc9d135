// Collective bandwidth (all-reduce, reduce-scatter, all-gather; MPI, and NCCL where GPUs exist) reported
// like nccl-tests, and the gradient-sync overhead of a GPT-2 training step. Run under mpirun -np N.
//   collectives_bench [--smoke] [--max-bytes B] [--model gpt2-124m|gpt2-tiny] [--steps S]
#include <ATen/ATen.h>
#include <mpi.h>
#include <torch/cuda.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/model/model_factory.h"
#include "distributed/gradient_synchronizer.h"
#include "distributed/mpi_communicator.h"
#include "distributed/nccl_communicator.h"

namespace brain::distributed {
namespace {

struct Options {
  bool smoke = false;
  int64_t max_bytes = int64_t{64} << 20;
  std::string model = "gpt2-124m";
  int steps = 4;
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The slowest rank's value (collective).
double MaxOverRanks(double v) {
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return v;
}

void Synchronize(const at::Tensor& t) {
  if (t.is_cuda()) torch::cuda::synchronize();
}

// One collective at one size: average seconds per call (after warm-up), the slowest rank's.
double TimeCollective(Communicator& comm, const std::string& op, int64_t bytes, at::Device device,
                      int iters) {
  const int n = comm.size();
  const int64_t count = std::max<int64_t>(bytes / 4, n);  // fp32 elements of the nccl-tests "size"
  at::Tensor full = at::ones({count}, at::TensorOptions().dtype(at::kFloat).device(device));
  at::Tensor part = at::ones({count / n}, full.options());
  auto run = [&] {
    if (op == "all_reduce") {
      comm.AllReduce(full, ReduceOp::kSum);
    } else if (op == "reduce_scatter") {
      at::Tensor out = comm.ReduceScatter(full, ReduceOp::kSum);
    } else {
      at::Tensor out = comm.AllGather(part);
    }
  };
  for (int i = 0; i < 2; ++i) run();
  Synchronize(full);
  comm.Barrier();
  const double start = Now();
  for (int i = 0; i < iters; ++i) run();
  Synchronize(full);
  return MaxOverRanks((Now() - start) / iters);
}

void BandwidthTable(Communicator& comm, at::Device device, const Options& options) {
  const int n = comm.size();
  const bool root = comm.rank() == 0;
  if (root) {
    std::printf(
        "\n# backend %s, %d ranks, float sum; size = bytes of the full buffer (all-reduce buffer, "
        "reduce-scatter input, all-gather output)\n# busBw = algBw x %s\n",
        comm.backend().c_str(), n, "2(n-1)/n (all-reduce), (n-1)/n (reduce-scatter, all-gather)");
    std::printf("%-15s %12s %12s %12s %11s %11s\n", "# collective", "size(B)", "count", "time(us)",
                "algBw(GB/s)", "busBw(GB/s)");
  }
  for (const std::string op : {"all_reduce", "reduce_scatter", "all_gather"}) {
    const double factor = op == "all_reduce" ? 2.0 * (n - 1) / n : static_cast<double>(n - 1) / n;
    for (int64_t bytes = 8 * n; bytes <= options.max_bytes; bytes *= options.smoke ? 16 : 4) {
      const int64_t count = std::max<int64_t>(bytes / 4, n) / n * n;
      // Enough calls for ~0.2 s at 1 GB/s, between 5 and 200 (smoke: 3).
      const int iters =
          options.smoke ? 3 : static_cast<int>(std::clamp<int64_t>((200 << 20) / bytes, 5, 200));
      const double t = TimeCollective(comm, op, count * 4, device, iters);
      const double alg = static_cast<double>(count * 4) / t / 1e9;
      if (root) {
        std::printf("%-15s %12lld %12lld %12.1f %11.3f %11.3f\n", op.c_str(),
                    static_cast<long long>(count * 4), static_cast<long long>(count), t * 1e6, alg,
                    alg * factor);
      }
    }
  }
}

// Gradient-sync overhead: the same training step (forward, backward, AdamW) with the GradientSynchronizer
// syncing and with it switched off (set_sync(false): the hooks return at once, nothing is communicated),
// alternating so that both see the same machine load.
void GradSyncOverhead(Communicator& comm, const Options& options) {
  const bool root = comm.rank() == 0;
  model::CreateModelOptions create;
  create.seed = 1;
  if (options.smoke) create.vocab_size = 256;
  auto lm = model::CreatePresetModel(options.model, create);
  if (!lm.ok()) {
    std::fprintf(stderr, "collectives_bench: %s\n", std::string(lm.status().message()).c_str());
    std::exit(2);
  }
  std::vector<torch::Tensor> params = (*lm)->parameters();
  int64_t numel = 0;
  for (const auto& p : params) numel += p.numel();
  GradientSynchronizer sync(params, comm);
  torch::optim::AdamW adamw(params, torch::optim::AdamWOptions(1e-4));
  const int64_t batch = options.smoke ? 2 : 4, length = options.smoke ? 16 : 128;
  const int64_t vocab = (*lm)->config().vocab_size;
  torch::manual_seed(comm.rank());
  const torch::Tensor ids = torch::randint(0, vocab, {batch, length}, torch::kLong);
  auto step = [&](bool syncing) {
    sync.set_sync(syncing);
    comm.Barrier();
    const double start = Now();
    adamw.zero_grad();
    torch::Tensor logits = (*lm)->Logits((*lm)->Forward(ids, torch::ones_like(ids)));
    torch::nn::functional::cross_entropy(logits.reshape({-1, vocab}), ids.reshape({-1})).backward();
    if (syncing) sync.Finish();
    adamw.step();
    return MaxOverRanks(Now() - start);
  };
  step(true);  // warm-up
  step(false);
  double with = 0, without = 0;
  for (int s = 0; s < options.steps; ++s) {
    with += step(true);
    without += step(false);
  }
  with /= options.steps;
  without /= options.steps;
  if (root) {
    std::printf(
        "\n# gradient sync: %s (%.1fM params, %lld buckets), batch %lldx%lld per rank, %d ranks, "
        "%d steps each\n",
        options.model.c_str(), numel / 1e6, static_cast<long long>(sync.num_buckets()),
        static_cast<long long>(batch), static_cast<long long>(length), comm.size(), options.steps);
    std::printf(
        "step without sync %.1f ms, with sync %.1f ms: sync overhead %.1f%% of the step time "
        "(ratio %.3f)\n",
        without * 1e3, with * 1e3, 100.0 * (with - without) / with, with / without);
  }
}

int Run(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      options.smoke = true;
      options.max_bytes = 1 << 16;
      options.model = "gpt2-tiny";
      options.steps = 2;
    } else if (a == "--max-bytes" && i + 1 < argc) {
      options.max_bytes = std::atoll(argv[++i]);
    } else if (a == "--model" && i + 1 < argc) {
      options.model = argv[++i];
    } else if (a == "--steps" && i + 1 < argc) {
      options.steps = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "collectives_bench: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  torch::set_num_threads(1);
  auto mpi = MpiCommunicator::CreateWorld(/*timeout_s=*/300);
  BandwidthTable(*mpi, at::kCPU, options);
  if (NcclAvailable() && torch::cuda::device_count() > 0) {
    int local = 0;
    if (const char* v = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK")) local = std::atoi(v);
    const int device = local % static_cast<int>(torch::cuda::device_count());
    auto nccl = NcclCommunicator::Create(*mpi, device, 300);
    if (nccl.ok()) {
      BandwidthTable(**nccl, at::Device(at::kCUDA, device), options);
    } else if (mpi->rank() == 0) {
      std::printf("\n# nccl: skipped (%s)\n", std::string(nccl.status().message()).c_str());
    }
  } else if (mpi->rank() == 0) {
    std::printf("\n# nccl: skipped (%s)\n", NcclAvailable() ? "no GPU" : "built without NCCL");
  }
  GradSyncOverhead(*mpi, options);
  return 0;
}

}  // namespace
}  // namespace brain::distributed

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  const int rc = brain::distributed::Run(argc, argv);
  MPI_Finalize();
  return rc;
}
