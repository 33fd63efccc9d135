# Benchmark registration helper. Benchmarks print ratios against a baseline measured in the same run;
# only their smoke modes run under ctest.

# brain_add_python_bench(TARGET t SCRIPT driver.py ARGS ... DEPENDS ... COMMENT "..."
#                        SMOKE_TEST name SMOKE_LABEL label SMOKE_TIMEOUT s)
# `cmake --build BUILD --target t` runs `python driver.py ARGS...`; with tests enabled, ctest runs the same
# command plus `--smoke` as SMOKE_TEST (labels "bench_smoke;<label>").
function(brain_add_python_bench)
  cmake_parse_arguments(B "" "TARGET;SCRIPT;COMMENT;SMOKE_TEST;SMOKE_LABEL;SMOKE_TIMEOUT" "ARGS;DEPENDS" ${ARGN})
  add_custom_target(${B_TARGET}
    COMMAND ${BRAIN_PYTHON} ${B_SCRIPT} ${B_ARGS}
    DEPENDS ${B_DEPENDS} USES_TERMINAL
    COMMENT "${B_COMMENT}")
  if(BRAIN_BUILD_TESTS AND B_SMOKE_TEST)
    add_test(NAME ${B_SMOKE_TEST} COMMAND ${BRAIN_PYTHON} ${B_SCRIPT} ${B_ARGS} --smoke)
    set_tests_properties(${B_SMOKE_TEST} PROPERTIES LABELS "bench_smoke;${B_SMOKE_LABEL}"
                         TIMEOUT ${B_SMOKE_TIMEOUT})
  endif()
endfunction()
