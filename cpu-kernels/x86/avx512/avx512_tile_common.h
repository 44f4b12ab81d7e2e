// Small helpers shared by the AVX-512 kernel files. Everything here is `static inline` (internal
// linkage) so no function compiled with AVX-512 flags can be merged with a baseline copy elsewhere.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/x86/avx512/avx512_intrinsics.h"

// Unpackers return several registers; inlining them keeps those in registers instead of memory.
#define MOECPU_AVX512_INLINE inline __attribute__((always_inline))

namespace moecpu::kernels::MOECPU_AVX512_NS {

// One mat_tile call's arguments, passed to the per-column-group kernels.
struct TileArgs {
    int64_t k;
    const uint8_t* w;
    size_t w_row_bytes;
    int nr;
    const uint8_t* a;
    size_t a_row_bytes;
    int nc;
    float* out;
    size_t out_stride;
};

// Kernel computing all nr rows against a fixed group of columns starting at c0.
using ColumnGroupFn = void (*)(const TileArgs& t, int c0);

// Columns are taken four at a time (each unpacked weight block is reused four times), then the
// remaining one to three with their own instantiation, so any nc works.
static inline void run_column_groups(const TileArgs& t, ColumnGroupFn four, ColumnGroupFn three,
                                     ColumnGroupFn two, ColumnGroupFn one) {
    int c = 0;
    for (; c + 4 <= t.nc; c += 4) four(t, c);
    switch (t.nc - c) {
        case 3: three(t, c); break;
        case 2: two(t, c); break;
        case 1: one(t, c); break;
        default: break;
    }
}

static inline TileArgs make_tile_args(int64_t k, const void* w, size_t w_row_bytes, int nr,
                                      const void* a, size_t a_row_bytes, int nc, float* out,
                                      size_t out_stride) {
    return TileArgs{k, static_cast<const uint8_t*>(w), w_row_bytes, nr,
                    static_cast<const uint8_t*>(a), a_row_bytes, nc, out, out_stride};
}

static inline float half_to_float(uint16_t h) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

static inline uint16_t float_to_half(float f) {
    // Round to nearest even, as quant/fp16.h's fp32_to_fp16.
    return static_cast<uint16_t>(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0));
}

static inline float sum_lanes(__m512 v) { return _mm512_reduce_add_ps(v); }

}  // namespace moecpu::kernels::MOECPU_AVX512_NS
