# Use ccache for C++ and CUDA when it is installed: LibTorch translation units cost ~10 s each.
find_program(BRAIN_CCACHE ccache)
if(BRAIN_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${BRAIN_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${BRAIN_CCACHE})
  message(STATUS "brain: ccache ${BRAIN_CCACHE}")
endif()
