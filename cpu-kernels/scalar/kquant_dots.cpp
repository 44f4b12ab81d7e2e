// Row dots of the K-quant super-block formats (256 elements) against Q8_K activations. Each
// super-block's integer sum is exact: sum over sub-blocks of scale * sum(q * a), the mins folded
// in through the activation's bsums (sum of each 16 activations), then scaled once.
#include "cpu-kernels/scalar/scalar_kernels.h"
#include "quant/block_formats.h"
#include "quant/fp16.h"

namespace moecpu::kernels::scalar {
namespace {

// Q2_K / Q3_K: element e of a super-block lives in half h = e / 128, 2-bit plane p = (e / 32) % 4,
// position l = e % 32: bits 2p..2p+1 of qs[32 h + l].
inline int two_bit_quant(const uint8_t* qs, int e) {
    return (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
}

// Q3_K's 16 six-bit scales: low 4 bits in bytes 0..7 (two per byte), high 2 bits in bytes 8..11.
inline int q3_K_scale(const uint8_t* s, int j) {
    const int low = j < 8 ? (s[j] & 0x0F) : (s[j - 8] >> 4);
    const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

// Q4_K / Q5_K: scale and min of sub-block j (of 8), 6 bits each, packed in 12 bytes.
inline void k4_scale_min(const uint8_t* s, int j, int* sc, int* mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Q4_K / Q5_K: element e sits in chunk c = e / 64; the low nibble of qs[32 c + l] holds the first
// 32 of the chunk, the high nibble the second 32.
inline int four_bit_quant(const uint8_t* qs, int e) {
    const int c = e / 64, l = e % 32;
    return (e % 64) < 32 ? (qs[32 * c + l] & 0x0F) : (qs[32 * c + l] >> 4);
}

inline int32_t bsum_pair(const block_q8_K& y, int j) { return y.bsums[2 * j] + y.bsums[2 * j + 1]; }

}  // namespace

float dot_q2_K(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q2_K*>(w);
    const auto* y = static_cast<const block_q8_K*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK_K; ++b) {
        int32_t isum = 0, mins = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            int32_t sub = 0;
            for (int e = 16 * j; e < 16 * j + 16; ++e) sub += two_bit_quant(x[b].qs, e) * y[b].qs[e];
            isum += (x[b].scales[j] & 0x0F) * sub;
            mins += (x[b].scales[j] >> 4) * y[b].bsums[j];
        }
        acc += double(y[b].d) * (double(fp16_to_fp32(x[b].d)) * isum - double(fp16_to_fp32(x[b].dmin)) * mins);
    }
    return float(acc);
}

float dot_q3_K(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q3_K*>(w);
    const auto* y = static_cast<const block_q8_K*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK_K; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            int32_t sub = 0;
            for (int e = 16 * j; e < 16 * j + 16; ++e) {
                // hmask bit (e / 32) of byte e % 32 set: q in [0,3]; clear: q - 4.
                const int high = (x[b].hmask[e % 32] >> (e / 32)) & 1;
                sub += (two_bit_quant(x[b].qs, e) - (high ? 0 : 4)) * y[b].qs[e];
            }
            isum += q3_K_scale(x[b].scales, j) * sub;
        }
        acc += double(y[b].d) * fp16_to_fp32(x[b].d) * isum;
    }
    return float(acc);
}

float dot_q4_K(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q4_K*>(w);
    const auto* y = static_cast<const block_q8_K*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK_K; ++b) {
        int32_t isum = 0, mins = 0;
        for (int j = 0; j < QK_K / 32; ++j) {
            int sc, mn;
            k4_scale_min(x[b].scales, j, &sc, &mn);
            int32_t sub = 0;
            for (int e = 32 * j; e < 32 * j + 32; ++e) sub += four_bit_quant(x[b].qs, e) * y[b].qs[e];
            isum += sc * sub;
            mins += mn * bsum_pair(y[b], j);
        }
        acc += double(y[b].d) * (double(fp16_to_fp32(x[b].d)) * isum - double(fp16_to_fp32(x[b].dmin)) * mins);
    }
    return float(acc);
}

float dot_q5_K(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q5_K*>(w);
    const auto* y = static_cast<const block_q8_K*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK_K; ++b) {
        int32_t isum = 0, mins = 0;
        for (int j = 0; j < QK_K / 32; ++j) {
            int sc, mn;
            k4_scale_min(x[b].scales, j, &sc, &mn);
            int32_t sub = 0;
            for (int e = 32 * j; e < 32 * j + 32; ++e) {
                // fifth bit: bit (e / 32) of qh[e % 32]
                const int q = four_bit_quant(x[b].qs, e) | (((x[b].qh[e % 32] >> (e / 32)) & 1) << 4);
                sub += q * y[b].qs[e];
            }
            isum += sc * sub;
            mins += mn * bsum_pair(y[b], j);
        }
        acc += double(y[b].d) * (double(fp16_to_fp32(x[b].d)) * isum - double(fp16_to_fp32(x[b].dmin)) * mins);
    }
    return float(acc);
}

float dot_q6_K(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q6_K*>(w);
    const auto* y = static_cast<const block_q8_K*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK_K; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            int32_t sub = 0;
            for (int e = 16 * j; e < 16 * j + 16; ++e) {
                // Half h = e / 128, quarter p = (e / 32) % 4, l = e % 32: low 4 bits are a nibble
                // of ql[64 h + l + 32 (p & 1)] (high nibble for p >= 2), high 2 bits are bits
                // 2p..2p+1 of qh[32 h + l].
                const int h = e / 128, p = (e / 32) % 4, l = e % 32;
                const uint8_t lbyte = x[b].ql[64 * h + l + 32 * (p & 1)];
                const int low = p < 2 ? (lbyte & 0x0F) : (lbyte >> 4);
                const int high = (x[b].qh[32 * h + l] >> (2 * p)) & 3;
                sub += ((low | (high << 4)) - 32) * y[b].qs[e];
            }
            isum += x[b].scales[j] * sub;
        }
        acc += double(y[b].d) * fp16_to_fp32(x[b].d) * isum;
    }
    return float(acc);
}

}  // namespace moecpu::kernels::scalar
