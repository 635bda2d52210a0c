# Warnings and sanitizers for everything we compile.
add_compile_options(-Wall -Wextra -Werror)
if(GNR_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# gnr_library(<target> [DEPS ...] [PRIVATE_DEPS ...] [TEST_DEPS ...])
#
# One module = one folder = one library target. Sources are the folder's *.cc files except
# *_test.cc and *_fuzz.cc; the *_test.cc files form one GoogleTest binary <target>_test
# registered with CTest. Include paths are from the repository root.
function(gnr_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS;TEST_DEPS;LABELS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "_(test|fuzz|main)\\.cc$")
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  add_library(${name} ${srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  if(tests)
    gnr_test(${name}_test SOURCES ${tests} DEPS ${name} ${ARG_TEST_DEPS} LABELS ${ARG_LABELS})
  endif()
endfunction()

# gnr_test(<target> SOURCES ... [DEPS ...] [LABELS ...]): a GoogleTest binary in CTest.
function(gnr_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} gnr_testing GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120 TEST_LIST ${name}_TESTS
                       PROPERTIES TIMEOUT 600)
  # CMake 3.25's discovery writes PROPERTIES unquoted, so a list value ("unit;integration")
  # would be split and eat TIMEOUT. Apply the labels from a ctest include file that runs
  # after the discovered tests are defined.
  set(labels_file ${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake)
  file(WRITE ${labels_file}
       "if(${name}_TESTS)\n"
       "  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"unit;${ARG_LABELS}\")\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_file})
endfunction()
