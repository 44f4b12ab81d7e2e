// Q6_K weights × Q8_K activations with AVX2.
// 16 sub-blocks of 16 with int8 scales: x = d·sc·(u − 32), u in 0..63 from 4 low bits (ql) and
// 2 high bits (qh). Per half h of 128 elements (ql[64h..], qh[32h..]), element 128h + 32s + l
// takes ql[64h + 32(s%2) + l] (low nibble for s < 2, high for s ≥ 2) and bits 2s..2s+1 of
// qh[32h + l]. dot = d·da·Σ sc·(Σ u·a − 32·bsum); u ≤ 63 keeps maddubs unsaturated.
#include "cpu-kernels/x86/avx2/avx2_common.h"
#include "cpu-kernels/x86/avx2/kernels_avx2.h"
#include "cpu-kernels/x86/avx2/kquant_gemm_avx2.h"
#include "cpu-kernels/x86/avx2/tile_runner.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::avx2 {
namespace {

const block_q8_K* act_block(const uint8_t* a, size_t arb, int c, int64_t ib) {
    return reinterpret_cast<const block_q8_K*>(a + c * arb) + ib;
}

// The digits u of half h of a block: u[s] holds elements 128h + 32s .. +31. Shifts work within
// 16-bit lanes; the masks keep bits of the same byte only.
inline void q6k_half_digits(const block_q6_K& b, int h, __m256i (&u)[4]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), high2 = _mm256_set1_epi8(0x30);
    const __m256i ql0 = load256(b.ql + 64 * h), ql1 = load256(b.ql + 64 * h + 32), qh = load256(b.qh + 32 * h);
    u[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), high2));
    u[1] = _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), high2));
    u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, high2));
    u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), high2));
}

struct Q6K {
    static constexpr int kRows = 4, kCols = 8, kVecRows = 2;

    template <int R, int C>
    static void tile(int64_t k, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                     float* out, size_t os) {
        const int64_t nb = k / QK_K;
        __m256 acc[R][C];
        zero(acc);
        for (int64_t ib = 0; ib < nb; ++ib) {
            for (int r = 0; r < R; ++r) {
                const block_q6_K* b = reinterpret_cast<const block_q6_K*>(w + r * wrb) + ib;
                prefetch_ahead(w + r * wrb, size_t(ib) * sizeof(*b), size_t(nb) * sizeof(*b), wrb, R, sizeof(*b),
                               kPrefetchKQuant);
                const __m128i sc8 = load128(b->scales);
                const __m256i scales = _mm256_broadcastsi128_si256(sc8);
                const __m256i scales16 = _mm256_cvtepi8_epi16(sc8);
                __m256i isum[C];
                for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
                for (int h = 0; h < 2; ++h) {
                    __m256i u[4];
                    q6k_half_digits(*b, h, u);
                    for (int s = 0; s < 4; ++s) {
                        const int t = 4 * h + s;
                        const __m256i sc = scale_pair_i8(scales, t);
                        for (int c = 0; c < C; ++c) {
                            const __m256i p = _mm256_maddubs_epi16(u[s], load256(act_block(a, arb, c, ib)->qs + 32 * t));
                            isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p, sc));
                        }
                    }
                }
                const float d = half_to_float(b->d);
                for (int c = 0; c < C; ++c) {
                    const block_q8_K* ab = act_block(a, arb, c, ib);
                    const __m256i corr = _mm256_madd_epi16(scales16, load256(ab->bsums));
                    const __m256i total = _mm256_sub_epi32(isum[c], _mm256_slli_epi32(corr, 5));
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d * ab->d), acc[r][c]);
                }
            }
        }
        store_sums(acc, out, os);
    }
};

// Q6_K as x = d·s·u − d·(32s), digits u in 0..63.
struct Q6KGemm {
    using Block = block_q6_K;
    static constexpr int kGroups = 16;
    static constexpr int kPairsPerMadd = 2;  // digits ≤ 63: 2 · 2·63·127 < 32767
    static void decode(const Block& b, DecodedRow& out) {
        for (int h = 0; h < 2; ++h) {
            __m256i u[4];
            q6k_half_digits(b, h, u);
            for (int s = 0; s < 4; ++s) _mm256_store_si256(reinterpret_cast<__m256i*>(out.digits + 128 * h + 32 * s), u[s]);
        }
        const __m256i sc = _mm256_cvtepi8_epi16(load128(b.scales));
        _mm256_store_si256(reinterpret_cast<__m256i*>(out.scales), sc);
        _mm256_store_si256(reinterpret_cast<__m256i*>(out.offsets), _mm256_slli_epi16(sc, 5));
        out.d = out.dm = half_to_float(b.d);
    }
};

}  // namespace

void mat_tile_q6_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    kquant_mat_tile<Q6KGemm, Q6K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

}  // namespace moecpu::kernels::avx2
