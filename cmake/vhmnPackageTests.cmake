# Packaging tests, registered with ctest (included from the top-level
# CMakeLists.txt when VHMN_BUILD_PACKAGE_TESTS is ON):
#
#   package.amalgamation        single_include/vhmn/vhmn.hpp matches include/
#   package.single_header       a program that sees only single_include/vhmn
#                               (vhmn.hpp and vhmn_image.hpp)
#   package.single_header_train trains with vhmn.hpp alone: -fno-exceptions,
#                               no OpenMP, no stb on the include path
#   package.stage_clean/install  fixture: `cmake --install` into <build>/stage
#   package.find_package        tests/consumer against the staged install
#   package.add_subdirectory    tests/consumer with add_subdirectory(<this repo>)
#   package.fetchcontent        tests/consumer with FetchContent (local source)
#
# The consumers are separate CMake projects, configured, built and run by
# `ctest --build-and-test` with this build's generator, compiler, flags and
# build type, and told which features (SIMD, OpenMP, stb, libpng/libjpeg)
# they must see.

set(_vhmn_src "${PROJECT_SOURCE_DIR}")
set(_vhmn_bin "${PROJECT_BINARY_DIR}")
set(_vhmn_stage "${_vhmn_bin}/stage")

# ---- the generated single header -------------------------------------------
add_test(NAME package.amalgamation
  COMMAND ${CMAKE_COMMAND} -DROOT=${_vhmn_src} -DCHECK=ON -P ${_vhmn_src}/tools/amalgamate.cmake)

file(GLOB _vhmn_single_header_sources CONFIGURE_DEPENDS ${_vhmn_src}/tests/single_header/*.cpp)
add_executable(vhmn_single_header_test ${_vhmn_single_header_sources})
# Only single_include/vhmn on the include path (not include/): the file must
# stand alone. Dependencies and switches are the same as vhmn::vhmn's.
target_include_directories(vhmn_single_header_test PRIVATE ${_vhmn_src}/single_include/vhmn)
target_include_directories(vhmn_single_header_test SYSTEM PRIVATE ${VHMN_DEP_INCLUDE_DIRS})
target_link_libraries(vhmn_single_header_test PRIVATE ${VHMN_DEP_LIBRARIES})
target_compile_definitions(vhmn_single_header_test PRIVATE ${VHMN_DEP_DEFINITIONS})
target_compile_features(vhmn_single_header_test PRIVATE cxx_std_17)
target_compile_options(vhmn_single_header_test PRIVATE -Wall -Wextra)
add_test(NAME package.single_header COMMAND vhmn_single_header_test)

# Training from the single header alone, in the most restricted build: no
# exceptions (errors reach the handler), no OpenMP, no stb (so no gzip).
set(_vhmn_train_includes ${VHMN_DEP_INCLUDE_DIRS})
if(VHMN_STB_INCLUDE_DIR)
  list(REMOVE_ITEM _vhmn_train_includes ${VHMN_STB_INCLUDE_DIR})
endif()
set(_vhmn_train_libraries ${VHMN_DEP_LIBRARIES})
list(REMOVE_ITEM _vhmn_train_libraries OpenMP::OpenMP_CXX PNG::PNG JPEG::JPEG)
find_package(Threads REQUIRED)
add_executable(vhmn_single_header_train ${_vhmn_src}/tests/single_header_train/train_single_header.cpp)
target_include_directories(vhmn_single_header_train PRIVATE ${_vhmn_src}/single_include/vhmn)
target_include_directories(vhmn_single_header_train SYSTEM PRIVATE ${_vhmn_train_includes})
target_link_libraries(vhmn_single_header_train PRIVATE ${_vhmn_train_libraries} Threads::Threads)
target_compile_definitions(vhmn_single_header_train PRIVATE ${VHMN_DEP_DEFINITIONS})
target_compile_features(vhmn_single_header_train PRIVATE cxx_std_17)
target_compile_options(vhmn_single_header_train PRIVATE -Wall -Wextra -fno-exceptions)
add_test(NAME package.single_header_train COMMAND vhmn_single_header_train)
set_tests_properties(package.single_header_train PROPERTIES
  PASS_REGULAR_EXPRESSION "trained: accuracy 1.000.*handled: '[^']*toy.gz' is gzip-compressed, but this build of vhmn reads no gzip")

# ---- consumers -------------------------------------------------------------
# What a consumer must observe, given how this build was configured.
set(_vhmn_consumer_options
  -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
  -DCMAKE_CXX_FLAGS=${CMAKE_CXX_FLAGS}
  -DVHMN_USE_SIMD=${VHMN_USE_SIMD}
  -DVHMN_USE_OPENMP=${VHMN_USE_OPENMP}
  -DVHMN_USE_SYSTEM_CODECS=${VHMN_USE_SYSTEM_CODECS}
  -DVHMN_EXPECT_CODECS=${VHMN_WITH_SYSTEM_CODECS}
  -DVHMN_EXPECT_SIMD=${VHMN_WITH_SIMD}
  -DVHMN_EXPECT_OPENMP=${VHMN_WITH_OPENMP}
  -DVHMN_EXPECT_STB=${VHMN_WITH_STB})
if(CMAKE_BUILD_TYPE)
  list(APPEND _vhmn_consumer_options -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE})
endif()
foreach(var Eigen3_DIR xsimd_DIR)
  if(${var})
    list(APPEND _vhmn_consumer_options -D${var}=${${var}})
  endif()
endforeach()

# vhmn_add_consumer_test(<name> <mode> [extra -D options...])
function(vhmn_add_consumer_test name mode)
  set(build_dir "${_vhmn_bin}/consumer-${mode}")
  set(make_program "")
  if(CMAKE_MAKE_PROGRAM)
    set(make_program --build-makeprogram ${CMAKE_MAKE_PROGRAM})
  endif()
  add_test(NAME ${name}
    COMMAND ${CMAKE_CTEST_COMMAND}
      --build-and-test ${_vhmn_src}/tests/consumer ${build_dir}
      --build-generator ${CMAKE_GENERATOR}
      ${make_program}
      --build-config $<CONFIG>
      --build-options ${_vhmn_consumer_options} -DVHMN_CONSUMER_MODE=${mode} ${ARGN}
      --test-command vhmn_consumer)
endfunction()

if(VHMN_INSTALL)
  # Fixture: a fresh staging prefix holding what `cmake --install` puts there.
  add_test(NAME package.stage_clean
    COMMAND ${CMAKE_COMMAND} -E remove_directory ${_vhmn_stage})
  add_test(NAME package.stage_install
    COMMAND ${CMAKE_COMMAND} --install ${_vhmn_bin} --prefix ${_vhmn_stage} --config $<CONFIG>)
  set_tests_properties(package.stage_clean package.stage_install
    PROPERTIES FIXTURES_SETUP vhmn_stage)
  set_tests_properties(package.stage_install PROPERTIES DEPENDS package.stage_clean)

  # CMAKE_FIND_USE_PACKAGE_REGISTRY=OFF: only the staged copy may be found.
  vhmn_add_consumer_test(package.find_package installed
    -DCMAKE_PREFIX_PATH=${_vhmn_stage}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DVHMN_EXPECT_PREFIX=${_vhmn_stage})
  set_tests_properties(package.find_package PROPERTIES FIXTURES_REQUIRED vhmn_stage)
endif()

vhmn_add_consumer_test(package.add_subdirectory subdirectory -DVHMN_SOURCE_DIR=${_vhmn_src})
vhmn_add_consumer_test(package.fetchcontent fetchcontent -DFETCHCONTENT_SOURCE_DIR_VHMN=${_vhmn_src})

set(_vhmn_consumer_tests package.add_subdirectory package.fetchcontent)
if(VHMN_INSTALL)
  list(APPEND _vhmn_consumer_tests package.find_package package.stage_clean package.stage_install)
endif()
set_tests_properties(${_vhmn_consumer_tests} PROPERTIES LABELS package TIMEOUT 600)
set_tests_properties(package.amalgamation package.single_header package.single_header_train
  PROPERTIES LABELS package)
