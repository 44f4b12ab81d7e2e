// Matmul tiles of the 32-element block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against Q8_0 /
// Q8_1 activations. Included by neon_legacy_tiles.cpp (plain NEON) and
// neon_legacy_tiles_dotprod.cpp (MOECPU_NEON_USE_SDOT); everything here has internal linkage.
//
// Each weight block is unpacked once into 32 signed bytes and then dotted with up to four
// activation columns; per column a float32x4 accumulates d_w * d_a * (int dot), reduced once
// at the end of the row.
#pragma once
#include "cpu-kernels/arm/neon/neon_kernels.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_NEON_NS {
namespace {

constexpr int kLegacyMaxCols = 4;

// 0xFF in byte j where bit j of `bits` (16 bits) is set, else 0.
inline uint8x16_t expand_bits16(uint32_t bits) {
    static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bytes = vcombine_u8(vdup_n_u8(uint8_t(bits)), vdup_n_u8(uint8_t(bits >> 8)));
    return vtstq_u8(bytes, vld1q_u8(kBit));
}

// Low nibbles are elements 0..15, high nibbles 16..31.
inline void unpack_nibbles(const uint8_t* qs, uint8x16_t* lo, uint8x16_t* hi) {
    const uint8x16_t v = vld1q_u8(qs);
    *lo = vandq_u8(v, vdupq_n_u8(0x0F));
    *hi = vshrq_n_u8(v, 4);
}

// Adds the fifth bit (bit j of qh is element j's) as 16 to each quant.
inline void add_fifth_bits(const uint8_t qh[4], uint8x16_t* lo, uint8x16_t* hi) {
    uint32_t bits;
    std::memcpy(&bits, qh, sizeof bits);
    const uint8x16_t sixteen = vdupq_n_u8(16);
    *lo = vorrq_u8(*lo, vandq_u8(expand_bits16(bits & 0xFFFF), sixteen));
    *hi = vorrq_u8(*hi, vandq_u8(expand_bits16(bits >> 16), sixteen));
}

inline int8x16_t minus(uint8x16_t q, int offset) {
    return vsubq_s8(vreinterpretq_s8_u8(q), vdupq_n_s8(int8_t(offset)));
}

// Activation blocks: scale d and, for Q8_1, the precomputed s = d * sum(qs).
struct ActQ8_0 {
    using Block = block_q8_0;
    static float sum_term(const Block&) { return 0.f; }
};
struct ActQ8_1 {
    using Block = block_q8_1;
    static float sum_term(const Block& b) { return half_to_float(b.s); }
};

// Weight formats: unpack(block) → 32 signed quants; min(block) multiplies the activation sum.
struct Q4_0 {
    using Block = block_q4_0;
    using Act = ActQ8_0;
    static constexpr bool kHasMin = false;
    static void unpack(const Block& b, int8x16_t* lo, int8x16_t* hi) {
        uint8x16_t l, h;
        unpack_nibbles(b.qs, &l, &h);
        *lo = minus(l, 8);
        *hi = minus(h, 8);
    }
    static float min(const Block&) { return 0.f; }
};

struct Q4_1 {
    using Block = block_q4_1;
    using Act = ActQ8_1;
    static constexpr bool kHasMin = true;
    static void unpack(const Block& b, int8x16_t* lo, int8x16_t* hi) {
        uint8x16_t l, h;
        unpack_nibbles(b.qs, &l, &h);
        *lo = vreinterpretq_s8_u8(l);
        *hi = vreinterpretq_s8_u8(h);
    }
    static float min(const Block& b) { return half_to_float(b.m); }
};

struct Q5_0 {
    using Block = block_q5_0;
    using Act = ActQ8_0;
    static constexpr bool kHasMin = false;
    static void unpack(const Block& b, int8x16_t* lo, int8x16_t* hi) {
        uint8x16_t l, h;
        unpack_nibbles(b.qs, &l, &h);
        add_fifth_bits(b.qh, &l, &h);
        *lo = minus(l, 16);
        *hi = minus(h, 16);
    }
    static float min(const Block&) { return 0.f; }
};

struct Q5_1 {
    using Block = block_q5_1;
    using Act = ActQ8_1;
    static constexpr bool kHasMin = true;
    static void unpack(const Block& b, int8x16_t* lo, int8x16_t* hi) {
        uint8x16_t l, h;
        unpack_nibbles(b.qs, &l, &h);
        add_fifth_bits(b.qh, &l, &h);
        *lo = vreinterpretq_s8_u8(l);
        *hi = vreinterpretq_s8_u8(h);
    }
    static float min(const Block& b) { return half_to_float(b.m); }
};

struct Q8_0 {
    using Block = block_q8_0;
    using Act = ActQ8_0;
    static constexpr bool kHasMin = false;
    static void unpack(const Block& b, int8x16_t* lo, int8x16_t* hi) {
        *lo = vld1q_s8(b.qs);
        *hi = vld1q_s8(b.qs + 16);
    }
    static float min(const Block&) { return 0.f; }
};

// One weight row against C activation columns.
template <class F, int C>
void legacy_row(int64_t n_blocks, const typename F::Block* wrow,
                const typename F::Act::Block* const* act, float* out, size_t out_stride) {
    float32x4_t acc[C];
    float min_acc[C];
    for (int c = 0; c < C; ++c) {
        acc[c] = vdupq_n_f32(0.f);
        min_acc[c] = 0.f;
    }
    for (int64_t b = 0; b < n_blocks; ++b) {
        int8x16_t w_lo, w_hi;
        F::unpack(wrow[b], &w_lo, &w_hi);
        const float dw = half_to_float(wrow[b].d);
        for (int c = 0; c < C; ++c) {
            const auto& ab = act[c][b];
            int32x4_t dot = dot_i8(vdupq_n_s32(0), w_lo, vld1q_s8(ab.qs));
            dot = dot_i8(dot, w_hi, vld1q_s8(ab.qs + 16));
            acc[c] = vmlaq_n_f32(acc[c], vcvtq_f32_s32(dot), dw * half_to_float(ab.d));
            if constexpr (F::kHasMin) min_acc[c] += F::min(wrow[b]) * F::Act::sum_term(ab);
        }
    }
    for (int c = 0; c < C; ++c) out[c * out_stride] = vaddvq_f32(acc[c]) + min_acc[c];
}

template <class F, int C>
void legacy_rows(int64_t k, const uint8_t* w, size_t w_row_bytes, int nr, const uint8_t* a,
                 size_t a_row_bytes, float* out, size_t out_stride) {
    using ActBlock = typename F::Act::Block;
    const ActBlock* act[C];
    for (int c = 0; c < C; ++c) act[c] = reinterpret_cast<const ActBlock*>(a + c * a_row_bytes);
    const int64_t n_blocks = k / QK8_0;
    for (int r = 0; r < nr; ++r)
        legacy_row<F, C>(n_blocks, reinterpret_cast<const typename F::Block*>(w + r * w_row_bytes), act,
                         out + r, out_stride);
}

template <class F>
void legacy_mat_tile(MOECPU_NEON_TILE_PARAMS) {
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(a);
    int c = 0;
    for (; c + kLegacyMaxCols <= nc; c += kLegacyMaxCols)
        legacy_rows<F, kLegacyMaxCols>(k, wb, w_row_bytes, nr, ab + c * a_row_bytes, a_row_bytes,
                                       out + c * out_stride, out_stride);
    float* out_tail = out + c * out_stride;
    const uint8_t* a_tail = ab + c * a_row_bytes;
    switch (nc - c) {
        case 3: legacy_rows<F, 3>(k, wb, w_row_bytes, nr, a_tail, a_row_bytes, out_tail, out_stride); break;
        case 2: legacy_rows<F, 2>(k, wb, w_row_bytes, nr, a_tail, a_row_bytes, out_tail, out_stride); break;
        case 1: legacy_rows<F, 1>(k, wb, w_row_bytes, nr, a_tail, a_row_bytes, out_tail, out_stride); break;
        default: break;
    }
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_NEON_NS
