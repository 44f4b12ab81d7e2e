# Portable by default: the baseline is plain x86-64 / armv8-a; faster kernels live in their own
# translation units compiled with their ISA flags and are picked at run time (cpu-kernels/).
include(CheckCXXCompilerFlag)

add_compile_options(-Wall -Wextra -Wno-unused-parameter)
if(MOECPU_NATIVE)
  add_compile_options(-march=native)
endif()
if(MOECPU_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

set(MOECPU_ARCH_X86 OFF)
set(MOECPU_ARCH_ARM64 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(MOECPU_ARCH_X86 ON)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(MOECPU_ARCH_ARM64 ON)
endif()

# Per-ISA flags for the kernel translation units (only those files get them).
set(MOECPU_FLAGS_AVX2   -mavx2 -mfma -mf16c -mbmi2)
set(MOECPU_FLAGS_AVX512 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mfma -mf16c -mbmi2)
set(MOECPU_FLAGS_NEON_DOTPROD -march=armv8.2-a+dotprod+fp16)
