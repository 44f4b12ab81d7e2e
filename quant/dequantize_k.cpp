// Reference dequantization of the K-quants and Q8_K (layouts in block_formats.h, k_packing.h).
#include <cassert>

#include "quant/block_formats.h"
#include "quant/fp16.h"
#include "quant/k_packing.h"
#include "quant/quantize_ref.h"

namespace moecpu {

// 16 sub-blocks of 16: x = d * (sc & 15) * q - dmin * (sc >> 4). The 2-bit q of element
// 128 h + 32 s + l (s = 0..3, l = 0..31) is bits 2s..2s+1 of qs[32 h + l]; the sub-block of an
// element is simply element / 16.
void dequantize_row_q2_K(const void* vx, float* y, int64_t n) {
    assert(n % QK_K == 0);
    const auto* x = static_cast<const block_q2_K*>(vx);
    for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        for (int e = 0; e < QK_K; ++e) {
            const int h = e / 128, s = (e % 128) / 32, l = e % 32;
            const int q = (x[i].qs[32 * h + l] >> (2 * s)) & 3;
            const uint8_t sc = x[i].scales[e / 16];
            y[e] = d * float(sc & 0xF) * float(q) - dmin * float(sc >> 4);
        }
    }
}

// 16 sub-blocks of 16: x = d * (scale - 32) * (q - 4 * !hbit), low two bits as Q2_K, the high
// bit of element e is bit e / 32 of hmask[e % 32].
void dequantize_row_q3_K(const void* vx, float* y, int64_t n) {
    assert(n % QK_K == 0);
    const auto* x = static_cast<const block_q3_K*>(vx);
    for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
        const float dall = fp16_to_fp32(x[i].d);
        float dl[QK_K / 16];
        for (int j = 0; j < QK_K / 16; ++j) dl[j] = dall * float(q3k_get_scale(j, x[i].scales));
        for (int e = 0; e < QK_K; ++e) {
            const int h = e / 128, s = (e % 128) / 32, l = e % 32;
            const int lo = (x[i].qs[32 * h + l] >> (2 * s)) & 3;
            const int hbit = (x[i].hmask[e % 32] >> (e / 32)) & 1;
            y[e] = dl[e / 16] * float(lo - (hbit ? 0 : 4));
        }
    }
}

// 8 sub-blocks of 32: x = d * sc * q - dmin * m (6-bit sc, m from get_scale_min_k4). In each
// 64-element chunk c, byte l of qs[32 c ..] holds element 64 c + l (low) and 64 c + 32 + l (high).
void dequantize_row_q4_K(const void* vx, float* y, int64_t n) {
    assert(n % QK_K == 0);
    const auto* x = static_cast<const block_q4_K*>(vx);
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        const uint8_t* q = x[i].qs;
        for (int c = 0; c < QK_K / 64; ++c, q += 32) {
            uint8_t sc, m;
            get_scale_min_k4(2 * c, x[i].scales, &sc, &m);
            const float d1 = d * float(sc), m1 = dmin * float(m);
            get_scale_min_k4(2 * c + 1, x[i].scales, &sc, &m);
            const float d2 = d * float(sc), m2 = dmin * float(m);
            for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
        }
    }
}

// As Q4_K with q in [0, 31]: the fifth bit of element 64 c + l is bit 2c of qh[l], that of
// element 64 c + 32 + l bit 2c + 1.
void dequantize_row_q5_K(const void* vx, float* y, int64_t n) {
    assert(n % QK_K == 0);
    const auto* x = static_cast<const block_q5_K*>(vx);
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        const uint8_t* ql = x[i].qs;
        const uint8_t* qh = x[i].qh;
        for (int c = 0; c < QK_K / 64; ++c, ql += 32) {
            uint8_t sc, m;
            get_scale_min_k4(2 * c, x[i].scales, &sc, &m);
            const float d1 = d * float(sc), m1 = dmin * float(m);
            get_scale_min_k4(2 * c + 1, x[i].scales, &sc, &m);
            const float d2 = d * float(sc), m2 = dmin * float(m);
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * float((ql[l] & 0xF) | (((qh[l] >> (2 * c)) & 1) << 4)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * float((ql[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4)) - m2;
        }
    }
}

// 16 sub-blocks of 16: x = d * scales[e / 16] * (q - 32), q 6 bits. In each 128-element half,
// element l + 32 s (s = 0..3, l = 0..31) has its low nibble in ql[l + 32 (s & 1)] (bits 4 (s >> 1)
// up) and its top two bits in bits 2s..2s+1 of qh[l].
void dequantize_row_q6_K(const void* vx, float* y, int64_t n) {
    assert(n % QK_K == 0);
    const auto* x = static_cast<const block_q6_K*>(vx);
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        const int8_t* sc = x[i].scales;
        for (int h = 0; h < QK_K / 128; ++h, ql += 64, qh += 32, sc += 8, y += 128) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * float(sc[is]) * float(q1);
                y[l + 32] = d * float(sc[is + 2]) * float(q2);
                y[l + 64] = d * float(sc[is + 4]) * float(q3);
                y[l + 96] = d * float(sc[is + 6]) * float(q4);
            }
        }
    }
}

// x = d * q (d is a plain fp32 here).
void dequantize_row_q8_K(const void* vx, float* y, int64_t n) {
    assert(n % QK_K == 0);
    const auto* x = static_cast<const block_q8_K*>(vx);
    for (int64_t i = 0; i < n / QK_K; ++i)
        for (int j = 0; j < QK_K; ++j) *y++ = x[i].d * float(x[i].qs[j]);
}

}  // namespace moecpu
