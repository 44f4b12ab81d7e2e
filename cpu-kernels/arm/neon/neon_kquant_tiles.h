// Matmul tiles of the K-quants (Q2_K … Q6_K) against Q8_K activations. Included by
// neon_kquant_tiles.cpp (plain NEON) and neon_kquant_tiles_dotprod.cpp (MOECPU_NEON_USE_SDOT);
// everything here has internal linkage.
//
// Every format unpacks a 256-weight super-block into one common shape: 16 groups of 16 signed
// bytes (element order), an integer scale per group, and (Q2_K, Q4_K, Q5_K) an integer min per
// group. A super-block is unpacked once and dotted with up to four activation columns:
//   dot = d_a * (d * sum_g scale_g * <q_g, a_g>  -  dmin * sum_g min_g * bsum_g)
// where bsum_g is the Q8_K block's precomputed sum of group g's activations.
#pragma once
#include "cpu-kernels/arm/neon/neon_kernels.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_NEON_NS {
namespace {

constexpr int kKQuantMaxCols = 4;

struct SuperBlock {
    int8x16_t q[16];        // q[g] = quants of elements 16 g .. 16 g + 15
    int32x4_t scales[4];    // lane i of scales[m] = scale of group 4 m + i
    int16x8_t mins[2];      // lane i of mins[h] = min of group 8 h + i (zero where unused)
    float d = 0.f, dmin = 0.f;
};

inline void widen_to_s32(int16x8_t v, int32x4_t* out) {
    out[0] = vmovl_s16(vget_low_s16(v));
    out[1] = vmovl_high_s16(v);
}

// 16 per-group scales (signed bytes) → scales[4].
inline void set_scales(int8x16_t s, SuperBlock* sb) {
    widen_to_s32(vmovl_s8(vget_low_s8(s)), sb->scales);
    widen_to_s32(vmovl_high_s8(s), sb->scales + 2);
}

// Per-32 values (Q4_K / Q5_K sub-blocks) repeated for both 16-groups of each sub-block.
inline uint8x16_t repeat_pairs(const uint8_t v[8]) {
    const uint8x8_t x = vld1_u8(v);
    return vcombine_u8(vzip1_u8(x, x), vzip2_u8(x, x));
}

inline uint8x16_t shift_right(uint8x16_t v, int bits) { return vshlq_u8(v, vdupq_n_s8(int8_t(-bits))); }

// 0xFF in each byte of v that has `bit` set.
inline uint8x16_t has_bit(uint8x16_t v, int bit) { return vtstq_u8(v, vdupq_n_u8(uint8_t(1u << bit))); }

inline int8x16_t as_s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }

// Q4_K / Q5_K: 8 six-bit scales and mins packed in 12 bytes (layout in quant/k_packing.h).
inline void decode_scales_mins_k4(const uint8_t* q, uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 4; ++j) {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
        sc[j + 4] = uint8_t((q[j + 8] & 0xF) | ((q[j] >> 6) << 4));
        mn[j + 4] = uint8_t((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
    }
}

inline void set_scales_mins_k4(const uint8_t* packed, SuperBlock* sb) {
    uint8_t sc[8], mn[8];
    decode_scales_mins_k4(packed, sc, mn);
    set_scales(as_s8(repeat_pairs(sc)), sb);  // <= 63: the signed view is the same value
    const uint8x16_t m = repeat_pairs(mn);
    sb->mins[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(m)));
    sb->mins[1] = vreinterpretq_s16_u16(vmovl_high_u8(m));
}

// Q2_K: element 128 n + 32 j + l is bits 2j..2j+1 of qs[32 n + l]; group scales in the low
// nibble of scales[g], mins in the high nibble.
struct Q2K {
    using Block = block_q2_K;
    static constexpr bool kHasMin = true;
    static void unpack(const Block& b, SuperBlock* sb) {
        const uint8x16_t three = vdupq_n_u8(3);
        for (int n = 0; n < 2; ++n) {
            const uint8x16_t q0 = vld1q_u8(b.qs + 32 * n), q1 = vld1q_u8(b.qs + 32 * n + 16);
            for (int j = 0; j < 4; ++j) {
                sb->q[8 * n + 2 * j] = as_s8(vandq_u8(shift_right(q0, 2 * j), three));
                sb->q[8 * n + 2 * j + 1] = as_s8(vandq_u8(shift_right(q1, 2 * j), three));
            }
        }
        const uint8x16_t s = vld1q_u8(b.scales);
        set_scales(as_s8(vandq_u8(s, vdupq_n_u8(0x0F))), sb);
        const uint8x16_t m = vshrq_n_u8(s, 4);
        sb->mins[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(m)));
        sb->mins[1] = vreinterpretq_s16_u16(vmovl_high_u8(m));
        sb->d = half_to_float(b.d);
        sb->dmin = half_to_float(b.dmin);
    }
};

// Q3_K: low two bits as Q2_K, the third bit of element 128 n + 32 j + l is bit 4n + j of
// hmask[l]; value = low - 4 unless that bit is set. Signed 6-bit scales, offset 32.
struct Q3K {
    using Block = block_q3_K;
    static constexpr bool kHasMin = false;
    static void unpack(const Block& b, SuperBlock* sb) {
        const uint8x16_t three = vdupq_n_u8(3), four = vdupq_n_u8(4);
        const int8x16_t offset = vdupq_n_s8(4);
        const uint8x16_t h0 = vld1q_u8(b.hmask), h1 = vld1q_u8(b.hmask + 16);
        for (int n = 0; n < 2; ++n) {
            const uint8x16_t q0 = vld1q_u8(b.qs + 32 * n), q1 = vld1q_u8(b.qs + 32 * n + 16);
            for (int j = 0; j < 4; ++j) {
                const uint8x16_t lo0 = vandq_u8(shift_right(q0, 2 * j), three);
                const uint8x16_t lo1 = vandq_u8(shift_right(q1, 2 * j), three);
                const uint8x16_t hi0 = vandq_u8(has_bit(h0, 4 * n + j), four);
                const uint8x16_t hi1 = vandq_u8(has_bit(h1, 4 * n + j), four);
                sb->q[8 * n + 2 * j] = vsubq_s8(as_s8(vorrq_u8(lo0, hi0)), offset);
                sb->q[8 * n + 2 * j + 1] = vsubq_s8(as_s8(vorrq_u8(lo1, hi1)), offset);
            }
        }
        int8_t sc[16];
        for (int g = 0; g < 16; ++g) {
            const int lo = g < 8 ? (b.scales[g] & 0xF) : (b.scales[g - 8] >> 4);
            const int hi = (b.scales[8 + g % 4] >> (2 * (g / 4))) & 3;
            sc[g] = int8_t((lo | (hi << 4)) - 32);
        }
        set_scales(vld1q_s8(sc), sb);
        sb->mins[0] = sb->mins[1] = vdupq_n_s16(0);
        sb->d = half_to_float(b.d);
    }
};

// Q4_K: qs[32 c + l] holds element 64 c + l (low nibble) and 64 c + 32 + l (high nibble).
struct Q4K {
    using Block = block_q4_K;
    static constexpr bool kHasMin = true;
    static void unpack(const Block& b, SuperBlock* sb) {
        const uint8x16_t low4 = vdupq_n_u8(0x0F);
        for (int c = 0; c < 4; ++c) {
            const uint8x16_t v0 = vld1q_u8(b.qs + 32 * c), v1 = vld1q_u8(b.qs + 32 * c + 16);
            sb->q[4 * c] = as_s8(vandq_u8(v0, low4));
            sb->q[4 * c + 1] = as_s8(vandq_u8(v1, low4));
            sb->q[4 * c + 2] = as_s8(vshrq_n_u8(v0, 4));
            sb->q[4 * c + 3] = as_s8(vshrq_n_u8(v1, 4));
        }
        set_scales_mins_k4(b.scales, sb);
        sb->d = half_to_float(b.d);
        sb->dmin = half_to_float(b.dmin);
    }
};

// Q5_K: as Q4_K plus a fifth bit: bit 2c of qh[l] for element 64 c + l, bit 2c + 1 for
// element 64 c + 32 + l.
struct Q5K {
    using Block = block_q5_K;
    static constexpr bool kHasMin = true;
    static void unpack(const Block& b, SuperBlock* sb) {
        const uint8x16_t low4 = vdupq_n_u8(0x0F), sixteen = vdupq_n_u8(16);
        const uint8x16_t h0 = vld1q_u8(b.qh), h1 = vld1q_u8(b.qh + 16);
        for (int c = 0; c < 4; ++c) {
            const uint8x16_t v0 = vld1q_u8(b.qs + 32 * c), v1 = vld1q_u8(b.qs + 32 * c + 16);
            sb->q[4 * c] = as_s8(vorrq_u8(vandq_u8(v0, low4), vandq_u8(has_bit(h0, 2 * c), sixteen)));
            sb->q[4 * c + 1] = as_s8(vorrq_u8(vandq_u8(v1, low4), vandq_u8(has_bit(h1, 2 * c), sixteen)));
            sb->q[4 * c + 2] = as_s8(vorrq_u8(vshrq_n_u8(v0, 4), vandq_u8(has_bit(h0, 2 * c + 1), sixteen)));
            sb->q[4 * c + 3] = as_s8(vorrq_u8(vshrq_n_u8(v1, 4), vandq_u8(has_bit(h1, 2 * c + 1), sixteen)));
        }
        set_scales_mins_k4(b.scales, sb);
        sb->d = half_to_float(b.d);
        sb->dmin = half_to_float(b.dmin);
    }
};

// Q6_K: per half n, element 128 n + 32 k + l takes a nibble of ql[64 n + l + 32 (k & 1)]
// (low for k < 2) and bits 2k..2k+1 of qh[32 n + l]; value = q - 32. int8 group scales.
struct Q6K {
    using Block = block_q6_K;
    static constexpr bool kHasMin = false;
    static void unpack(const Block& b, SuperBlock* sb) {
        const uint8x16_t low4 = vdupq_n_u8(0x0F), bits45 = vdupq_n_u8(0x30);
        const int8x16_t offset = vdupq_n_s8(32);
        for (int n = 0; n < 2; ++n) {
            const uint8_t* ql = b.ql + 64 * n;
            const uint8x16_t l0 = vld1q_u8(ql), l1 = vld1q_u8(ql + 16), l2 = vld1q_u8(ql + 32),
                             l3 = vld1q_u8(ql + 48);
            const uint8x16_t h0 = vld1q_u8(b.qh + 32 * n), h1 = vld1q_u8(b.qh + 32 * n + 16);
            uint8x16_t u[8];
            u[0] = vorrq_u8(vandq_u8(l0, low4), vandq_u8(vshlq_n_u8(h0, 4), bits45));
            u[1] = vorrq_u8(vandq_u8(l1, low4), vandq_u8(vshlq_n_u8(h1, 4), bits45));
            u[2] = vorrq_u8(vandq_u8(l2, low4), vandq_u8(vshlq_n_u8(h0, 2), bits45));
            u[3] = vorrq_u8(vandq_u8(l3, low4), vandq_u8(vshlq_n_u8(h1, 2), bits45));
            u[4] = vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(h0, bits45));
            u[5] = vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(h1, bits45));
            u[6] = vorrq_u8(vshrq_n_u8(l2, 4), vandq_u8(vshrq_n_u8(h0, 2), bits45));
            u[7] = vorrq_u8(vshrq_n_u8(l3, 4), vandq_u8(vshrq_n_u8(h1, 2), bits45));
            for (int i = 0; i < 8; ++i) sb->q[8 * n + i] = vsubq_s8(as_s8(u[i]), offset);
        }
        set_scales(vld1q_s8(b.scales), sb);
        sb->mins[0] = sb->mins[1] = vdupq_n_s16(0);
        sb->d = half_to_float(b.d);
    }
};

// d_a-free dot of one unpacked super-block with one Q8_K block.
template <bool kHasMin>
float superblock_dot(const SuperBlock& sb, const block_q8_K& ab) {
    const int32x4_t zero = vdupq_n_s32(0);
    int32x4_t acc = zero;
    for (int m = 0; m < 4; ++m) {
        const int8_t* a = ab.qs + 64 * m;
        const int32x4_t d0 = dot_i8(zero, sb.q[4 * m], vld1q_s8(a));
        const int32x4_t d1 = dot_i8(zero, sb.q[4 * m + 1], vld1q_s8(a + 16));
        const int32x4_t d2 = dot_i8(zero, sb.q[4 * m + 2], vld1q_s8(a + 32));
        const int32x4_t d3 = dot_i8(zero, sb.q[4 * m + 3], vld1q_s8(a + 48));
        acc = vmlaq_s32(acc, transpose_sum4(d0, d1, d2, d3), sb.scales[m]);
    }
    float sum = sb.d * float(vaddvq_s32(acc));
    if constexpr (kHasMin) {
        const int16x8_t bs0 = vld1q_s16(ab.bsums), bs1 = vld1q_s16(ab.bsums + 8);
        int32x4_t mm = vmull_s16(vget_low_s16(sb.mins[0]), vget_low_s16(bs0));
        mm = vmlal_high_s16(mm, sb.mins[0], bs0);
        mm = vmlal_s16(mm, vget_low_s16(sb.mins[1]), vget_low_s16(bs1));
        mm = vmlal_high_s16(mm, sb.mins[1], bs1);
        sum -= sb.dmin * float(vaddvq_s32(mm));
    }
    return sum;
}

template <class F, int C>
void kquant_row(int64_t n_blocks, const typename F::Block* wrow, const block_q8_K* const* act,
                float* out, size_t out_stride) {
    float acc[C];
    for (int c = 0; c < C; ++c) acc[c] = 0.f;
    SuperBlock sb;
    for (int64_t b = 0; b < n_blocks; ++b) {
        F::unpack(wrow[b], &sb);
        for (int c = 0; c < C; ++c) acc[c] += act[c][b].d * superblock_dot<F::kHasMin>(sb, act[c][b]);
    }
    for (int c = 0; c < C; ++c) out[c * out_stride] = acc[c];
}

template <class F, int C>
void kquant_rows(int64_t k, const uint8_t* w, size_t w_row_bytes, int nr, const uint8_t* a,
                 size_t a_row_bytes, float* out, size_t out_stride) {
    const block_q8_K* act[C];
    for (int c = 0; c < C; ++c) act[c] = reinterpret_cast<const block_q8_K*>(a + c * a_row_bytes);
    const int64_t n_blocks = k / QK_K;
    for (int r = 0; r < nr; ++r)
        kquant_row<F, C>(n_blocks, reinterpret_cast<const typename F::Block*>(w + r * w_row_bytes), act,
                         out + r, out_stride);
}

template <class F>
void kquant_mat_tile(MOECPU_NEON_TILE_PARAMS) {
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(a);
    int c = 0;
    for (; c + kKQuantMaxCols <= nc; c += kKQuantMaxCols)
        kquant_rows<F, kKQuantMaxCols>(k, wb, w_row_bytes, nr, ab + c * a_row_bytes, a_row_bytes,
                                       out + c * out_stride, out_stride);
    float* out_tail = out + c * out_stride;
    const uint8_t* a_tail = ab + c * a_row_bytes;
    switch (nc - c) {
        case 3: kquant_rows<F, 3>(k, wb, w_row_bytes, nr, a_tail, a_row_bytes, out_tail, out_stride); break;
        case 2: kquant_rows<F, 2>(k, wb, w_row_bytes, nr, a_tail, a_row_bytes, out_tail, out_stride); break;
        case 1: kquant_rows<F, 1>(k, wb, w_row_bytes, nr, a_tail, a_row_bytes, out_tail, out_stride); break;
        default: break;
    }
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_NEON_NS
