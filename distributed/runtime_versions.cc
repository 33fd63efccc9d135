// MPI and NCCL library versions.
#include "distributed/runtime_versions.h"

#include <mpi.h>

#ifdef BRAIN_WITH_NCCL
#include <nccl.h>
#endif

#include "absl/strings/str_cat.h"

namespace brain::distributed {

std::string MpiLibraryVersion() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, length);
  if (size_t nl = version.find_first_of("\n,"); nl != std::string::npos) version.resize(nl);
  return version;
}

std::string NcclVersion() {
#ifdef BRAIN_WITH_NCCL
  int code = 0;
  if (ncclGetVersion(&code) != ncclSuccess) return "error";
  // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
  return absl::StrCat(code / 10000, ".", (code % 10000) / 100, ".", code % 100);
#else
  return "not linked";
#endif
}

}  // namespace brain::distributed
