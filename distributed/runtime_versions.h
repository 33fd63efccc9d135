// Version strings of the runtime libraries the distributed layer links (MPI, NCCL).
#pragma once

#include <string>

namespace brain::distributed {

// First line of MPI_Get_library_version (callable before MPI_Init).
std::string MpiLibraryVersion();

// "2.28.3", or "not linked" when built without NCCL.
std::string NcclVersion();

}  // namespace brain::distributed
