// Float weights (F32, F16, BF16) × F32 activations with AVX2 + FMA (+ F16C for F16).
// Eight elements per step: each weight vector is converted once and multiplied into every
// column's accumulator; a k that is not a multiple of 8 finishes element by element.
#include "cpu-kernels/x86/avx2/avx2_common.h"
#include "cpu-kernels/x86/avx2/kernels_avx2.h"
#include "cpu-kernels/x86/avx2/tile_runner.h"

namespace moecpu::kernels::avx2 {
namespace {

struct F32Format {
    static __m256 load8(const uint8_t* row, int64_t i) { return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i); }
    static float load1(const uint8_t* row, int64_t i) { return load_f32(row + 4 * i); }
};

struct F16Format {
    static __m256 load8(const uint8_t* row, int64_t i) { return _mm256_cvtph_ps(load128(row + 2 * i)); }
    static float load1(const uint8_t* row, int64_t i) { return half_to_float(load_u16(row + 2 * i)); }
};

struct BF16Format {
    static __m256 load8(const uint8_t* row, int64_t i) {  // bf16 is the top half of an f32
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(row + 2 * i)), 16));
    }
    static float load1(const uint8_t* row, int64_t i) {
        const uint32_t bits = uint32_t(load_u16(row + 2 * i)) << 16;
        float f;
        __builtin_memcpy(&f, &bits, 4);
        return f;
    }
};

template <class F>
struct FloatTile {
    static constexpr int kRows = 2, kCols = 4, kVecRows = 4;

    template <int R, int C>
    static void tile(int64_t k, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                     float* out, size_t os) {
        __m256 acc[R][C];
        zero(acc);
        int64_t i = 0;
        for (; i + 8 <= k; i += 8) {
            __m256 av[C];
            for (int c = 0; c < C; ++c) av[c] = _mm256_loadu_ps(reinterpret_cast<const float*>(a + c * arb) + i);
            for (int r = 0; r < R; ++r) {
                const __m256 wv = F::load8(w + r * wrb, i);
                for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(wv, av[c], acc[r][c]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) {
                float s = hsum(acc[r][c]);
                for (int64_t j = i; j < k; ++j) s += F::load1(w + r * wrb, j) * load_f32(a + c * arb + 4 * j);
                out[c * os + r] = s;
            }
    }
};

}  // namespace

void mat_tile_f32(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                  size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    run_tiles<FloatTile<F32Format>>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

void mat_tile_f16(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                  size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    run_tiles<FloatTile<F16Format>>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

void mat_tile_bf16(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    run_tiles<FloatTile<BF16Format>>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

}  // namespace moecpu::kernels::avx2
