# Small helpers in the style of Abseil's absl_cc_library and LevelDB's leveldb_test:
# one library target per folder with a va:: alias, one test executable per test file.

# -Wnull-dereference is left out: at -O2 GCC 12 reports false positives inside nlohmann/json's
# iterators, which warnings-as-errors would turn into build failures.
set(VA_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
                -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
if(VA_WERROR)
  list(APPEND VA_WARNINGS -Werror)
endif()

if(VA_SANITIZE)
  # GCC documents that the sanitizers make -Wmaybe-uninitialized report false positives
  # (seen here inside std::variant at -O2); the sanitizers check the real thing at run time.
  list(APPEND VA_WARNINGS -Wno-maybe-uninitialized)
  # Line tables (-g1) are all the reports need; the Makefile builds this tree unoptimised (Debug),
  # which compiles ~4x faster than -O2 -g with the sanitizers and still runs the unit tests in
  # about a minute.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g1)
  add_link_options(-fsanitize=address,undefined)
endif()

# va_cc_library(NAME name SRCS ... [DEPS ...] [PRIVATE_DEPS ...])
# Defines target va_<name> with alias va::<name>; headers are included as "<folder>/<file>.h"
# relative to the repository root.
function(va_cc_library)
  cmake_parse_arguments(VA "" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(va_${VA_NAME} ${VA_SRCS})
  add_library(va::${VA_NAME} ALIAS va_${VA_NAME})
  target_include_directories(va_${VA_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(va_${VA_NAME} PRIVATE ${VA_WARNINGS})
  target_link_libraries(va_${VA_NAME} PUBLIC ${VA_DEPS} PRIVATE ${VA_PRIVATE_DEPS})
endfunction()

# va_cc_binary(NAME name SRCS ... [DEPS ...])
function(va_cc_binary)
  cmake_parse_arguments(VA "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${VA_NAME} ${VA_SRCS})
  target_compile_options(${VA_NAME} PRIVATE ${VA_WARNINGS})
  target_link_libraries(${VA_NAME} PRIVATE ${VA_DEPS})
endfunction()

# va_shell_test(NAME name SCRIPT path [LABELS ...] [FIXTURES ...] [ENV VAR=value ...] [TIMEOUT s]):
# a bash test (kubectl-driven checks); ENV adds variables such as the path of a built binary.
function(va_shell_test)
  cmake_parse_arguments(VA "" "NAME;SCRIPT;TIMEOUT" "LABELS;FIXTURES;ENV" ${ARGN})
  add_test(NAME ${VA_NAME} COMMAND bash ${VA_SCRIPT})
  set_tests_properties(${VA_NAME} PROPERTIES LABELS "${VA_LABELS}"
    ENVIRONMENT "VA_SOURCE_DIR=${PROJECT_SOURCE_DIR};KUBECONFIG=${PROJECT_SOURCE_DIR}/_output/cluster/kubeconfig;${VA_ENV}")
  if(VA_TIMEOUT)
    set_tests_properties(${VA_NAME} PROPERTIES TIMEOUT ${VA_TIMEOUT})
  endif()
  if(VA_FIXTURES)
    set_tests_properties(${VA_NAME} PROPERTIES FIXTURES_REQUIRED "${VA_FIXTURES}")
  endif()
endfunction()

# va_cc_test(NAME name SRCS ... [DEPS ...] [LABELS ...] [FIXTURES ...])
# Unit tests get the label "unit"; integration tests pass LABELS integration and the ctest
# fixtures they need (for example FIXTURES cluster), which bring services up once.
function(va_cc_test)
  cmake_parse_arguments(VA "" "NAME" "SRCS;DEPS;LABELS;FIXTURES" ${ARGN})
  add_executable(${VA_NAME} ${VA_SRCS})
  target_compile_options(${VA_NAME} PRIVATE ${VA_WARNINGS})
  target_link_libraries(${VA_NAME} PRIVATE ${VA_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  add_test(NAME ${VA_NAME} COMMAND ${VA_NAME})
  if(NOT VA_LABELS)
    set(VA_LABELS unit)
  endif()
  # `make test-unit` builds only what the unit tests need (target va_unit_tests).
  if(VA_LABELS STREQUAL "unit")
    if(NOT TARGET va_unit_tests)
      add_custom_target(va_unit_tests)
    endif()
    add_dependencies(va_unit_tests ${VA_NAME})
  endif()
  set_tests_properties(${VA_NAME} PROPERTIES LABELS "${VA_LABELS}"
    ENVIRONMENT "VA_SOURCE_DIR=${PROJECT_SOURCE_DIR};KUBECONFIG=${PROJECT_SOURCE_DIR}/_output/cluster/kubeconfig")
  if(VA_FIXTURES)
    set_tests_properties(${VA_NAME} PROPERTIES FIXTURES_REQUIRED "${VA_FIXTURES}")
  endif()
endfunction()
