// NCCL collectives on CUDA tensors. Compiled in every build; without NCCL, Create() reports why.
#include "distributed/nccl_communicator.h"

#include "absl/strings/str_cat.h"

#ifdef BRAIN_WITH_NCCL
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#endif

namespace brain::distributed {

#ifndef BRAIN_WITH_NCCL

bool NcclAvailable() { return false; }
struct NcclCommunicator::State {};
NcclCommunicator::NcclCommunicator(std::unique_ptr<State> state) : state_(std::move(state)) {}
NcclCommunicator::~NcclCommunicator() = default;
absl::StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(MpiCommunicator&, int, double) {
  return absl::UnimplementedError("this build of brain has no NCCL (built without CUDA/NCCL)");
}
int NcclCommunicator::rank() const { return 0; }
int NcclCommunicator::size() const { return 1; }
void NcclCommunicator::AllReduce(at::Tensor&, ReduceOp) {}
std::unique_ptr<Work> NcclCommunicator::AllReduceAsync(at::Tensor, ReduceOp) { return nullptr; }
at::Tensor NcclCommunicator::AllGather(const at::Tensor& t) { return t; }
at::Tensor NcclCommunicator::ReduceScatter(const at::Tensor& t, ReduceOp) { return t; }
void NcclCommunicator::Broadcast(at::Tensor&, int) {}
void NcclCommunicator::Barrier() {}

#else

bool NcclAvailable() { return true; }

struct NcclCommunicator::State {
  ncclComm_t comm = nullptr;
  int rank = 0;
  int size = 1;
  int device = 0;
  c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/true);
  std::shared_ptr<CollectiveWatchdog> watchdog;
  MpiCommunicator* bootstrap = nullptr;
};

namespace {

void CheckNccl(ncclResult_t result, const char* op) {
  if (result != ncclSuccess) {
    throw std::runtime_error(absl::StrCat("NCCL ", op, " failed: ", ncclGetErrorString(result)));
  }
}

void CheckCuda(cudaError_t result, const char* op) {
  if (result != cudaSuccess) {
    throw std::runtime_error(absl::StrCat("CUDA ", op, " failed: ", cudaGetErrorString(result)));
  }
}

ncclDataType_t NcclType(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kBFloat16: return ncclBfloat16;
    case at::kHalf: return ncclFloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    case at::kChar: return ncclInt8;
    case at::kByte:
    case at::kBool: return ncclUint8;
    default: throw std::invalid_argument(absl::StrCat("NcclCommunicator: unsupported dtype ", c10::toString(t)));
  }
}

ncclRedOp_t NcclOp(ReduceOp op, at::ScalarType t) {
  if (op == ReduceOp::kAvg && !at::isFloatingType(t)) {
    throw std::invalid_argument("NcclCommunicator: AVG needs a floating-point tensor");
  }
  switch (op) {
    case ReduceOp::kSum: return t == at::kBool ? ncclMax : ncclSum;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kMin: return ncclMin;
    case ReduceOp::kAvg: return ncclAvg;
  }
  return ncclSum;
}

void CheckCudaTensor(const at::Tensor& t, int device, const char* op) {
  if (!t.defined() || !t.is_cuda() || t.get_device() != device) {
    throw std::invalid_argument(absl::StrCat("NcclCommunicator::", op, ": needs a tensor on cuda:", device));
  }
}

// Work on the communicator's stream; Wait() makes the caller's stream wait for it and, so the watchdog
// can see a hang, polls the completion event from the host with the watchdog's clock running.
class NcclWork : public Work {
 public:
  NcclWork(NcclCommunicator::State* state, uint64_t seq, at::Tensor keep_alive, at::Tensor copy_back_to)
      : state_(state), seq_(seq), keep_alive_(std::move(keep_alive)), target_(std::move(copy_back_to)) {
    CheckCuda(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "EventCreate");
    CheckCuda(cudaEventRecord(done_, state_->stream.stream()), "EventRecord");
  }
  ~NcclWork() override {
    if (!waited_) Wait();
    cudaEventDestroy(done_);
  }
  void Wait() override {
    if (waited_) return;
    waited_ = true;
    for (;;) {
      const cudaError_t status = cudaEventQuery(done_);
      if (status == cudaSuccess) break;
      if (status != cudaErrorNotReady) CheckCuda(status, "EventQuery");
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (state_->watchdog) state_->watchdog->End(seq_);
    if (target_.defined()) target_.copy_(keep_alive_);
  }

 private:
  NcclCommunicator::State* state_;
  uint64_t seq_;
  at::Tensor keep_alive_, target_;
  cudaEvent_t done_{};
  bool waited_ = false;
};

// Makes the communicator's stream wait for the caller's current stream.
void OrderAfterCaller(NcclCommunicator::State& s) {
  cudaEvent_t ready;
  CheckCuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "EventCreate");
  CheckCuda(cudaEventRecord(ready, c10::cuda::getCurrentCUDAStream(s.device).stream()), "EventRecord");
  CheckCuda(cudaStreamWaitEvent(s.stream.stream(), ready, 0), "StreamWaitEvent");
  cudaEventDestroy(ready);
}

uint64_t Begin(NcclCommunicator::State& s, const char* op, int64_t bytes) {
  OrderAfterCaller(s);
  return s.watchdog ? s.watchdog->Begin(op, bytes) : 0;
}

}  // namespace

NcclCommunicator::NcclCommunicator(std::unique_ptr<State> state) : state_(std::move(state)) {}

NcclCommunicator::~NcclCommunicator() {
  if (state_ && state_->comm) ncclCommDestroy(state_->comm);
}

absl::StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(MpiCommunicator& bootstrap,
                                                                          int device, double timeout_s) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || device < 0 || device >= devices) {
    cudaGetLastError();
    return absl::FailedPreconditionError(absl::StrCat("NCCL needs CUDA device ", device, "; ", devices,
                                                      " visible"));
  }
  c10::cuda::CUDAGuard guard(device);
  auto state = std::make_unique<State>();
  state->device = device;
  state->rank = bootstrap.rank();
  state->size = bootstrap.size();
  state->bootstrap = &bootstrap;
  ncclUniqueId id;
  if (bootstrap.rank() == 0 && ncclGetUniqueId(&id) != ncclSuccess) {
    return absl::InternalError("ncclGetUniqueId failed");
  }
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, bootstrap.comm());
  const ncclResult_t init = ncclCommInitRank(&state->comm, state->size, id, state->rank);
  if (init != ncclSuccess) {
    return absl::InternalError(absl::StrCat("ncclCommInitRank failed: ", ncclGetErrorString(init)));
  }
  if (timeout_s > 0) {
    ncclComm_t comm = state->comm;
    const int rank = state->rank;
    state->watchdog = std::make_shared<CollectiveWatchdog>(rank, timeout_s, [comm](const std::string& report) {
      std::fputs(report.c_str(), stderr);
      std::fflush(stderr);
      ncclCommAbort(comm);  // unblocks kernels stuck in the collective
      MPI_Abort(MPI_COMM_WORLD, 75);
    });
  }
  return std::unique_ptr<NcclCommunicator>(new NcclCommunicator(std::move(state)));
}

int NcclCommunicator::rank() const { return state_->rank; }
int NcclCommunicator::size() const { return state_->size; }

std::unique_ptr<Work> NcclCommunicator::AllReduceAsync(at::Tensor tensor, ReduceOp op) {
  CheckCudaTensor(tensor, state_->device, "AllReduce");
  c10::cuda::CUDAGuard guard(state_->device);
  at::Tensor wire = tensor.contiguous();
  const uint64_t seq = Begin(*state_, "all_reduce", tensor.nbytes());
  CheckNccl(ncclAllReduce(wire.data_ptr(), wire.data_ptr(), wire.numel(), NcclType(wire.scalar_type()),
                          NcclOp(op, wire.scalar_type()), state_->comm, state_->stream.stream()),
            "AllReduce");
  return std::make_unique<NcclWork>(state_.get(), seq, wire, wire.is_same(tensor) ? at::Tensor() : tensor);
}

void NcclCommunicator::AllReduce(at::Tensor& tensor, ReduceOp op) { AllReduceAsync(tensor, op)->Wait(); }

at::Tensor NcclCommunicator::AllGather(const at::Tensor& tensor) {
  CheckCudaTensor(tensor, state_->device, "AllGather");
  c10::cuda::CUDAGuard guard(state_->device);
  // Row counts travel over MPI (host); rows are padded to the largest count for ncclAllGather.
  at::Tensor rows = at::full({1}, tensor.dim() == 0 ? 1 : tensor.size(0), at::kLong);
  at::Tensor all_rows = state_->bootstrap->AllGather(rows);
  const int64_t max_rows = all_rows.max().item<int64_t>();
  std::vector<int64_t> shape = tensor.dim() == 0 ? std::vector<int64_t>{1} : tensor.sizes().vec();
  shape[0] = max_rows;
  at::Tensor padded = at::zeros(shape, tensor.options());
  if (rows.item<int64_t>() > 0) padded.narrow(0, 0, rows.item<int64_t>()).copy_(tensor.reshape(
      tensor.dim() == 0 ? std::vector<int64_t>{1} : tensor.sizes().vec()));
  shape[0] = max_rows * state_->size;
  at::Tensor gathered = at::empty(shape, tensor.options());
  const uint64_t seq = Begin(*state_, "all_gather", padded.nbytes());
  CheckNccl(ncclAllGather(padded.data_ptr(), gathered.data_ptr(), padded.numel(),
                          NcclType(padded.scalar_type()), state_->comm, state_->stream.stream()),
            "AllGather");
  NcclWork(state_.get(), seq, gathered, at::Tensor()).Wait();
  std::vector<at::Tensor> parts;
  for (int r = 0; r < state_->size; ++r) {
    parts.push_back(gathered.narrow(0, r * max_rows, all_rows[r].item<int64_t>()));
  }
  return at::cat(parts, 0);
}

at::Tensor NcclCommunicator::ReduceScatter(const at::Tensor& tensor, ReduceOp op) {
  CheckCudaTensor(tensor, state_->device, "ReduceScatter");
  c10::cuda::CUDAGuard guard(state_->device);
  // Lay the EvenSplit slices out in equal, zero-padded chunks as ncclReduceScatter expects.
  at::Tensor flat = tensor.reshape({-1});
  const std::vector<int64_t> split = EvenSplit(flat.numel(), state_->size);
  const int64_t chunk = split.empty() ? 0 : split[0];
  at::Tensor padded = at::zeros({chunk * state_->size}, flat.options());
  int64_t offset = 0;
  for (int r = 0; r < state_->size; ++r) {
    padded.narrow(0, r * chunk, split[r]).copy_(flat.narrow(0, offset, split[r]));
    offset += split[r];
  }
  at::Tensor out = at::empty({chunk}, flat.options());
  const uint64_t seq = Begin(*state_, "reduce_scatter", tensor.nbytes());
  CheckNccl(ncclReduceScatter(padded.data_ptr(), out.data_ptr(), chunk, NcclType(flat.scalar_type()),
                              NcclOp(op, flat.scalar_type()), state_->comm, state_->stream.stream()),
            "ReduceScatter");
  NcclWork(state_.get(), seq, out, at::Tensor()).Wait();
  return out.narrow(0, 0, split[state_->rank]).clone();
}

void NcclCommunicator::Broadcast(at::Tensor& tensor, int root) {
  CheckCudaTensor(tensor, state_->device, "Broadcast");
  c10::cuda::CUDAGuard guard(state_->device);
  at::Tensor wire = tensor.contiguous();
  const uint64_t seq = Begin(*state_, "broadcast", tensor.nbytes());
  CheckNccl(ncclBroadcast(wire.data_ptr(), wire.data_ptr(), wire.numel(), NcclType(wire.scalar_type()), root,
                          state_->comm, state_->stream.stream()),
            "Broadcast");
  NcclWork(state_.get(), seq, wire, wire.is_same(tensor) ? at::Tensor() : tensor).Wait();
}

void NcclCommunicator::Barrier() {
  at::Tensor one = at::ones({1}, at::TensorOptions().dtype(at::kFloat).device(at::kCUDA, state_->device));
  AllReduce(one, ReduceOp::kSum);
}

#endif  // BRAIN_WITH_NCCL

}  // namespace brain::distributed
