# Every third-party dependency comes from Debian 12 packages; see .ci/run for the list.
# Internal code links `moecpu_deps`; nothing of it crosses the public C API.
find_package(PkgConfig REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# xsimd's CMake package needs xtl found first.
find_package(xtl REQUIRED)
find_package(xsimd REQUIRED)

add_library(moecpu_deps INTERFACE)
target_link_libraries(moecpu_deps INTERFACE
  OpenMP::OpenMP_CXX Threads::Threads nlohmann_json::nlohmann_json PkgConfig::PCRE2 xsimd)

if(MOECPU_BLAS)
  find_package(OpenBLAS REQUIRED)
  find_package(dnnl REQUIRED)
  add_library(moecpu_openblas INTERFACE)
  target_include_directories(moecpu_openblas INTERFACE ${OpenBLAS_INCLUDE_DIRS})
  target_link_libraries(moecpu_openblas INTERFACE ${OpenBLAS_LIBRARIES})
  target_link_libraries(moecpu_deps INTERFACE moecpu_openblas DNNL::dnnl)
  target_compile_definitions(moecpu_deps INTERFACE MOECPU_HAVE_BLAS=1)
else()
  target_compile_definitions(moecpu_deps INTERFACE MOECPU_HAVE_BLAS=0)
endif()

if(MOECPU_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
  # SIMDe is header-only and used by tests alone (runs AVX-512 / NEON kernel sources here).
  find_path(SIMDE_INCLUDE_DIR simde/x86/avx512.h REQUIRED)
endif()
if(MOECPU_BUILD_EXAMPLES)
  find_package(cxxopts REQUIRED)
endif()
