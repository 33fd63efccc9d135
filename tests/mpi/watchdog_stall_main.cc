// A job whose rank BRAIN_TEST_STALL_RANK stops participating before collective BRAIN_TEST_STALL_SEQ:
// run by watchdog_test.sh, which checks that every rank exits non-zero with the watchdog report.
#include <ATen/ATen.h>
#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "distributed/mpi_communicator.h"

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  const double timeout = argc > 1 ? std::atof(argv[1]) : 2.0;
  auto comm = brain::distributed::MpiCommunicator::CreateWorld(timeout);
  for (int step = 0; step < 20; ++step) {
    at::Tensor t = at::ones({1000}, at::kFloat);
    comm->AllReduce(t, brain::distributed::ReduceOp::kSum);
  }
  std::printf("rank %d finished all collectives\n", comm->rank());
  comm.reset();
  MPI_Finalize();
  return 0;
}
