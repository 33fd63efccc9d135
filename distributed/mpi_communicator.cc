// MPI collectives on CPU tensors. MPI has no 16-bit float types, so bf16/fp16 reduce in fp32.
#include "distributed/mpi_communicator.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace brain::distributed {
namespace {

bool IsHalf(at::ScalarType t) { return t == at::kBFloat16 || t == at::kHalf; }

MPI_Datatype MpiType(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kShort: return MPI_INT16_T;
    case at::kChar: return MPI_INT8_T;
    case at::kByte: return MPI_UINT8_T;
    case at::kBool: return MPI_C_BOOL;
    default:
      throw std::invalid_argument(absl::StrCat("MpiCommunicator: unsupported dtype ", c10::toString(t)));
  }
}

MPI_Op MpiOp(ReduceOp op, at::ScalarType t) {
  if (t == at::kBool) {
    switch (op) {
      case ReduceOp::kSum:
      case ReduceOp::kMax: return MPI_LOR;
      case ReduceOp::kMin: return MPI_LAND;
      case ReduceOp::kAvg: break;
    }
    throw std::invalid_argument("MpiCommunicator: AVG of bool tensors is undefined");
  }
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  return MPI_SUM;
}

void CheckCpu(const at::Tensor& t, const char* op) {
  if (!t.defined()) throw std::invalid_argument(absl::StrCat("MpiCommunicator::", op, ": undefined tensor"));
  if (!t.device().is_cpu()) {
    throw std::invalid_argument(absl::StrCat("MpiCommunicator::", op, ": tensor on ", t.device().str(),
                                             "; use the NCCL communicator for CUDA tensors"));
  }
}

void CheckMpi(int code, const char* op) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(absl::StrCat("MPI ", op, " failed: ", std::string(text, length)));
}

// The buffer MPI works on: contiguous, and fp32 for 16-bit floats.
at::Tensor WireTensor(const at::Tensor& t) {
  at::Tensor wire = IsHalf(t.scalar_type()) ? t.to(at::kFloat) : t;
  return wire.contiguous();
}

void FinishAverage(at::Tensor& wire, ReduceOp op, int size) {
  if (op != ReduceOp::kAvg) return;
  if (!at::isFloatingType(wire.scalar_type())) {
    throw std::invalid_argument("MpiCommunicator: AVG needs a floating-point tensor");
  }
  wire.div_(size);
}

class MpiWork : public Work {
 public:
  MpiWork(MPI_Request request, at::Tensor target, at::Tensor wire, ReduceOp op, int size,
          std::function<void()> on_done)
      : request_(request), target_(std::move(target)), wire_(std::move(wire)), op_(op), size_(size),
        on_done_(std::move(on_done)) {}
  ~MpiWork() override {
    if (!done_) Wait();
  }
  void Wait() override {
    if (done_) return;
    done_ = true;
    CheckMpi(MPI_Wait(&request_, MPI_STATUS_IGNORE), "Wait");
    FinishAverage(wire_, op_, size_);
    if (!wire_.is_same(target_)) target_.copy_(wire_);
    on_done_();
  }

 private:
  MPI_Request request_;
  at::Tensor target_, wire_;
  ReduceOp op_;
  int size_;
  std::function<void()> on_done_;
  bool done_ = false;
};

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm, std::shared_ptr<CollectiveWatchdog> watchdog,
                                 bool owns_comm)
    : comm_(comm), owns_comm_(owns_comm), watchdog_(std::move(watchdog)) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  const char* stall_rank = std::getenv("BRAIN_TEST_STALL_RANK");
  const char* stall_seq = std::getenv("BRAIN_TEST_STALL_SEQ");
  int world_rank = 0, wanted_rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  if (stall_rank && stall_seq && absl::SimpleAtoi(stall_rank, &wanted_rank) && wanted_rank == world_rank) {
    if (!absl::SimpleAtoi(stall_seq, &stall_seq_)) stall_seq_ = -1;
  }
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_comm_ && !finalized) MPI_Comm_free(&comm_);
}

std::unique_ptr<MpiCommunicator> MpiCommunicator::CreateWorld(double timeout_s) {
  MPI_Comm dup;
  CheckMpi(MPI_Comm_dup(MPI_COMM_WORLD, &dup), "Comm_dup");
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  std::shared_ptr<CollectiveWatchdog> watchdog;
  if (timeout_s > 0) watchdog = std::make_shared<CollectiveWatchdog>(world_rank, timeout_s);
  return std::make_unique<MpiCommunicator>(dup, std::move(watchdog), /*owns_comm=*/true);
}

std::unique_ptr<MpiCommunicator> MpiCommunicator::Split(int color, int key) const {
  MPI_Comm sub;
  CheckMpi(MPI_Comm_split(comm_, color, key, &sub), "Comm_split");
  return std::make_unique<MpiCommunicator>(sub, watchdog_, /*owns_comm=*/true);
}

uint64_t MpiCommunicator::BeginCollective(const char* op, int64_t bytes) {
  ++local_seq_;
  const uint64_t seq = watchdog_ ? watchdog_->Begin(op, bytes) : local_seq_;
  if (stall_seq_ > 0 && static_cast<int64_t>(local_seq_) == stall_seq_) {
    std::fprintf(stderr, "[brain test hook] rank %d stops participating before collective %llu (%s)\n",
                 rank_, static_cast<unsigned long long>(local_seq_), op);
    std::fflush(stderr);
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return seq;
}

void MpiCommunicator::EndCollective(uint64_t seq) {
  if (watchdog_) watchdog_->End(seq);
}

void MpiCommunicator::AllReduce(at::Tensor& tensor, ReduceOp op) {
  AllReduceAsync(tensor, op)->Wait();
}

std::unique_ptr<Work> MpiCommunicator::AllReduceAsync(at::Tensor tensor, ReduceOp op) {
  CheckCpu(tensor, "AllReduce");
  at::Tensor wire = WireTensor(tensor);
  const uint64_t seq = BeginCollective("all_reduce", tensor.nbytes());
  MPI_Request request;
  CheckMpi(MPI_Iallreduce(MPI_IN_PLACE, wire.data_ptr(), static_cast<int>(wire.numel()),
                          MpiType(wire.scalar_type()), MpiOp(op, wire.scalar_type()), comm_, &request),
           "Iallreduce");
  return std::make_unique<MpiWork>(request, tensor, wire, op, size_, [this, seq] { EndCollective(seq); });
}

at::Tensor MpiCommunicator::AllGather(const at::Tensor& tensor) {
  CheckCpu(tensor, "AllGather");
  at::Tensor wire = tensor.contiguous();
  // Rows may differ per rank: gather the row counts first, then the rows.
  int64_t rows = wire.dim() == 0 ? 1 : wire.size(0);
  int64_t row_numel = 1;  // from the trailing shape, which all ranks share (rows may be 0 here)
  for (int64_t d = 1; d < wire.dim(); ++d) row_numel *= wire.size(d);
  std::vector<int64_t> all_rows(size_);
  uint64_t seq = BeginCollective("all_gather_sizes", sizeof(int64_t));
  CheckMpi(MPI_Allgather(&rows, 1, MPI_INT64_T, all_rows.data(), 1, MPI_INT64_T, comm_), "Allgather");
  EndCollective(seq);

  std::vector<int64_t> shape = wire.dim() == 0 ? std::vector<int64_t>{1} : wire.sizes().vec();
  int64_t total_rows = 0;
  for (int64_t r : all_rows) total_rows += r;
  shape[0] = total_rows;
  at::Tensor out = at::empty(shape, wire.options());
  if (wire.dim() > 1 && row_numel == 0) return out;  // nothing to move: some trailing dim is 0
  const int64_t elem = wire.element_size();
  std::vector<int> counts(size_), displs(size_);
  int64_t offset = 0;
  for (int r = 0; r < size_; ++r) {
    const int64_t bytes = all_rows[r] * row_numel * elem;
    if (bytes > INT32_MAX || offset > INT32_MAX) throw std::length_error("AllGather: > 2 GiB per call");
    counts[r] = static_cast<int>(bytes);
    displs[r] = static_cast<int>(offset);
    offset += bytes;
  }
  seq = BeginCollective("all_gather", wire.nbytes());
  CheckMpi(MPI_Allgatherv(wire.data_ptr(), static_cast<int>(wire.nbytes()), MPI_BYTE, out.data_ptr(),
                          counts.data(), displs.data(), MPI_BYTE, comm_),
           "Allgatherv");
  EndCollective(seq);
  return out;
}

at::Tensor MpiCommunicator::ReduceScatter(const at::Tensor& tensor, ReduceOp op) {
  CheckCpu(tensor, "ReduceScatter");
  at::Tensor wire = WireTensor(tensor).reshape({-1});
  const std::vector<int64_t> split = EvenSplit(wire.numel(), size_);
  std::vector<int> counts(split.begin(), split.end());
  at::Tensor out = at::empty({split[rank_]}, wire.options());
  const uint64_t seq = BeginCollective("reduce_scatter", tensor.nbytes());
  CheckMpi(MPI_Reduce_scatter(wire.data_ptr(), out.data_ptr(), counts.data(), MpiType(wire.scalar_type()),
                              MpiOp(op, wire.scalar_type()), comm_),
           "Reduce_scatter");
  EndCollective(seq);
  FinishAverage(out, op, size_);
  return out.to(tensor.scalar_type());
}

void MpiCommunicator::Broadcast(at::Tensor& tensor, int root) {
  CheckCpu(tensor, "Broadcast");
  at::Tensor wire = tensor.contiguous();
  const uint64_t seq = BeginCollective("broadcast", tensor.nbytes());
  CheckMpi(MPI_Bcast(wire.data_ptr(), static_cast<int>(wire.nbytes()), MPI_BYTE, root, comm_), "Bcast");
  EndCollective(seq);
  if (!wire.is_same(tensor)) tensor.copy_(wire);
}

void MpiCommunicator::Barrier() {
  const uint64_t seq = BeginCollective("barrier", 0);
  CheckMpi(MPI_Barrier(comm_), "Barrier");
  EndCollective(seq);
}

}  // namespace brain::distributed
