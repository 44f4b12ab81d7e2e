// The intrinsics every AVX-512 kernel file includes first. Natively this is <immintrin.h>; with
// MOECPU_AVX512_VIA_SIMDE (the test build) the very same kernel sources compile against SIMDe,
// which emulates AVX-512 with AVX2, so they can be checked on CPUs without AVX-512. The two builds
// use different namespaces and table getters so one executable can link both.
#pragma once

// GCC 12 reports its own _mm512_undefined_*() idiom (used inside casts, reductions and
// conversions, broadcasts) as (maybe-)uninitialized once inlined (GCC bug 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#if defined(MOECPU_AVX512_VIA_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>

#include "cpu-kernels/x86/avx512/simde_avx512_gaps.h"
#define MOECPU_AVX512_NS avx512_simde
#define MOECPU_AVX512_TABLE_GETTER avx512_simde_table
#else
#include <immintrin.h>
#define MOECPU_AVX512_NS avx512
#define MOECPU_AVX512_TABLE_GETTER avx512_table
#endif
