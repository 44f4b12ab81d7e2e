// The 32-element "legacy" formats with AVX2: Q4_0, Q5_0, Q8_0 × Q8_0 and Q4_1, Q5_1 × Q8_1.
// Each weight block is unpacked once to 32 bytes and reused for every activation column.
//  - Symmetric formats (Q4_0, Q5_0, Q8_0) unpack to signed bytes; the signed × signed product
//    goes through maddubs(|w|, a·sign(w)), which cannot saturate: |w| ≤ 128 and |a| ≤ 127
//    (the activation quantizer clamps to ±127), so a pair sums to at most 2·128·127 < 32767.
//  - Formats with a min (Q4_1, Q5_1) unpack to unsigned bytes (≤ 31) used directly with maddubs;
//    the min enters as m·s with s = da·Σa stored in the Q8_1 block.
#include "cpu-kernels/x86/avx2/avx2_common.h"
#include "cpu-kernels/x86/avx2/kernels_avx2.h"
#include "cpu-kernels/x86/avx2/tile_runner.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::avx2 {
namespace {

struct Q4_0Format {
    using Block = block_q4_0;
    using Act = block_q8_0;
    static constexpr bool kSigned = true;   // signed bytes, no min
    static __m256i unpack(const Block* b) {  // q − 8
        return _mm256_sub_epi8(nibbles_to_bytes(b->qs), _mm256_set1_epi8(8));
    }
};

struct Q5_0Format {
    using Block = block_q5_0;
    using Act = block_q8_0;
    static constexpr bool kSigned = true;   // signed bytes, no min
    static __m256i unpack(const Block* b) {  // q − 16: without the fifth bit, set the top nibble
        const __m256i missing_bit = _mm256_andnot_si256(bits_to_byte_mask(load_u32(b->qh)), _mm256_set1_epi8(static_cast<char>(0xF0)));
        return _mm256_or_si256(nibbles_to_bytes(b->qs), missing_bit);
    }
};

struct Q8_0Format {
    using Block = block_q8_0;
    using Act = block_q8_0;
    static constexpr bool kSigned = true;   // signed bytes, no min
    static __m256i unpack(const Block* b) { return load256(b->qs); }
};

struct Q4_1Format {
    using Block = block_q4_1;
    using Act = block_q8_1;
    static constexpr bool kSigned = false;  // unsigned bytes plus a min m
    static __m256i unpack(const Block* b) { return nibbles_to_bytes(b->qs); }
};

struct Q5_1Format {
    using Block = block_q5_1;
    using Act = block_q8_1;
    static constexpr bool kSigned = false;  // unsigned bytes plus a min m
    static __m256i unpack(const Block* b) {
        const __m256i fifth = _mm256_and_si256(bits_to_byte_mask(load_u32(b->qh)), _mm256_set1_epi8(0x10));
        return _mm256_or_si256(nibbles_to_bytes(b->qs), fifth);
    }
};

template <class F>
struct Legacy {
    static constexpr int kRows = 2, kCols = 4, kVecRows = 4;

    template <int R, int C>
    static void tile(int64_t k, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                     float* out, size_t os) {
        using Block = typename F::Block;
        using Act = typename F::Act;
        const int64_t nb = k / 32;
        __m256 acc[R][C];
        zero(acc);
        float min_sum[R][C] = {};
        for (int64_t ib = 0; ib < nb; ++ib) {
            float da[C];
            for (int c = 0; c < C; ++c) da[c] = half_to_float(reinterpret_cast<const Act*>(a + c * arb)[ib].d);
            for (int r = 0; r < R; ++r) {
                const Block* b = reinterpret_cast<const Block*>(w + r * wrb) + ib;
                prefetch_ahead(w + r * wrb, size_t(ib) * sizeof(Block), size_t(nb) * sizeof(Block), wrb, R,
                               sizeof(Block), kPrefetchLegacy);
                const __m256i q = F::unpack(b);
                const float dw = half_to_float(b->d);
                if constexpr (F::kSigned) {
                    const __m256i q_abs = _mm256_abs_epi8(q);
                    for (int c = 0; c < C; ++c) {
                        const __m256i p = dot_i8_i8(q_abs, q, load256(reinterpret_cast<const Act*>(a + c * arb)[ib].qs));
                        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * da[c]), acc[r][c]);
                    }
                } else {
                    const float m = half_to_float(b->m);
                    for (int c = 0; c < C; ++c) {
                        const Act* ab = reinterpret_cast<const Act*>(a + c * arb) + ib;
                        const __m256i p = dot_u8_i8(q, load256(ab->qs));
                        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * da[c]), acc[r][c]);
                        min_sum[r][c] += m * half_to_float(ab->s);
                    }
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[c * os + r] = hsum(acc[r][c]) + min_sum[r][c];
    }
};

}  // namespace

void mat_tile_q4_0(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    run_tiles<Legacy<Q4_0Format>>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

void mat_tile_q4_1(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    run_tiles<Legacy<Q4_1Format>>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

void mat_tile_q5_0(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    run_tiles<Legacy<Q5_0Format>>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

void mat_tile_q5_1(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    run_tiles<Legacy<Q5_1Format>>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

void mat_tile_q8_0(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    run_tiles<Legacy<Q8_0Format>>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

}  // namespace moecpu::kernels::avx2
