# Test registration helpers. Test binaries land in build/bin/tests/.
set(BRAIN_MPIEXEC_FLAGS --oversubscribe)
if(DEFINED ENV{USER} AND "$ENV{USER}" STREQUAL "root" OR "$ENV{HOME}" STREQUAL "/root")
  list(APPEND BRAIN_MPIEXEC_FLAGS --allow-run-as-root)
endif()

# brain_add_gtest(NAME n SOURCES ... [LIBS ...] [LABELS ...] [TIMEOUT s])
# A GoogleTest binary registered as one ctest test.
function(brain_add_gtest)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  # Tests find configs/ and ../shared/ data through the repository root. (Only tests get it: an
  # absolute path in every compile command would defeat ccache across clones.)
  target_compile_definitions(${T_NAME} PRIVATE BRAIN_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin/tests)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "unit;${T_LABELS}")
endfunction()

# brain_add_mpi_test(NAME n SOURCES ... RANKS "1;2;4" [LIBS ...] [TIMEOUT s])
# One GoogleTest binary (with its own main that initialises MPI) run under mpiexec -n R for each R.
function(brain_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;RANKS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} brain_mpi_test_main GTest::gtest)
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin/tests)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  foreach(ranks IN LISTS T_RANKS)
    add_test(NAME ${T_NAME}_np${ranks}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks} ${BRAIN_MPIEXEC_FLAGS}
                     $<TARGET_FILE:${T_NAME}>)
    set_tests_properties(${T_NAME}_np${ranks} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "mpi"
                         PROCESSORS ${ranks})
  endforeach()
endfunction()
