# Cross build for 64-bit ARM Linux with Debian's cross gcc; tests run under qemu-user.
#
#   cmake -S . -B build-aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DMOECPU_BLAS=OFF -DMOECPU_BUILD_EXAMPLES=OFF
#   ctest --test-dir build-aarch64            # every test binary runs through qemu-aarch64
#
# Packages (Debian 12): g++-aarch64-linux-gnu (brings libgomp1-arm64-cross), qemu-user, and
# libpcre2-dev:arm64 via multiarch (`dpkg --add-architecture arm64 && apt-get update`).
# Debian's cross gcc is multiarch-aware: after its own /usr/aarch64-linux-gnu it also searches
# /usr/include and /usr/lib/aarch64-linux-gnu, so the header-only dependencies (xsimd, xtl,
# nlohmann-json, Catch2, SIMDe) come from the host's /usr/include and the arm64 PCRE2 library
# from the multiarch directory, without a sysroot.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(MOECPU_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${MOECPU_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${MOECPU_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${MOECPU_CROSS_TRIPLE})

# Target libraries come from the cross prefix first, then the arm64 multiarch directory; CMake
# packages of header-only dependencies live on the host (/usr/lib/cmake, /usr/share/cmake).
set(CMAKE_FIND_ROOT_PATH /usr/${MOECPU_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# xsimd's package config sits in the host's multiarch directory (/usr/lib/x86_64-linux-gnu/cmake),
# which a search for aarch64 never visits; its headers are architecture-neutral.
if(NOT xsimd_DIR)
  file(GLOB _moecpu_xsimd_configs /usr/lib/*/cmake/xsimd/xsimdConfig.cmake)
  if(_moecpu_xsimd_configs)
    list(GET _moecpu_xsimd_configs 0 _moecpu_xsimd_config)
    get_filename_component(_moecpu_xsimd_dir ${_moecpu_xsimd_config} DIRECTORY)
    set(xsimd_DIR ${_moecpu_xsimd_dir} CACHE PATH "xsimd CMake package (header-only, host copy)")
  endif()
endif()

# pkg-config must describe arm64 libraries (PCRE2), never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${MOECPU_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
unset(ENV{PKG_CONFIG_PATH})

# ctest runs test executables through qemu. MOECPU_QEMU_CPU picks the emulated core:
# "max" has every extension qemu knows (dotprod, i8mm, fp16 …); "cortex-a53" is plain armv8-a
# NEON, so the dispatcher falls back to the plain NEON table. Change it with
# `cmake -DMOECPU_QEMU_CPU=cortex-a53 <build-dir>` (only regenerates, nothing recompiles).
set(MOECPU_QEMU_CPU max CACHE STRING "qemu-aarch64 -cpu model used to run tests")
# MOECPU_TEST_EMULATED=1 in the tests' environment lets a test shrink work that only costs time
# under emulation (qemu runs vector code some 10-50x slower than the hardware would).
# OMP_THREAD_LIMIT=1: with Debian 12's qemu-user, an OpenMP team of two or more threads never
# leaves its first barrier (a 2-thread program spins forever, on every -cpu model), so the
# emulated tests run every parallel region on one thread; threading is tested natively.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-aarch64;-cpu;${MOECPU_QEMU_CPU};-L;/usr/${MOECPU_CROSS_TRIPLE};-E;MOECPU_TEST_EMULATED=1;-E;OMP_THREAD_LIMIT=1)
