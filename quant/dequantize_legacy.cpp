// Reference dequantization of the 32-element blocks (layouts in block_formats.h).
#include <cassert>
#include <cstring>

#include "quant/block_formats.h"
#include "quant/fp16.h"
#include "quant/quantize_ref.h"

namespace moecpu {

namespace {
// The 32 bits of qh of a Q5 block, little-endian as ggml reads them with memcpy.
inline uint32_t load_qh(const uint8_t qh[4]) {
    return uint32_t(qh[0]) | uint32_t(qh[1]) << 8 | uint32_t(qh[2]) << 16 | uint32_t(qh[3]) << 24;
}
}  // namespace

// x = d * (q - 8); byte j holds element j (low nibble) and element j + 16 (high nibble).
void dequantize_row_q4_0(const void* vx, float* y, int64_t n) {
    assert(n % QK4_0 == 0);
    const auto* x = static_cast<const block_q4_0*>(vx);
    for (int64_t i = 0; i < n / QK4_0; ++i, y += QK4_0) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            y[j] = float((x[i].qs[j] & 0xF) - 8) * d;
            y[j + QK4_0 / 2] = float((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

// x = d * q + m.
void dequantize_row_q4_1(const void* vx, float* y, int64_t n) {
    assert(n % QK4_1 == 0);
    const auto* x = static_cast<const block_q4_1*>(vx);
    for (int64_t i = 0; i < n / QK4_1; ++i, y += QK4_1) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            y[j] = float(x[i].qs[j] & 0xF) * d + m;
            y[j + QK4_1 / 2] = float(x[i].qs[j] >> 4) * d + m;
        }
    }
}

// x = d * (q - 16); bit 4 of element j is bit j of qh.
void dequantize_row_q5_0(const void* vx, float* y, int64_t n) {
    assert(n % QK5_0 == 0);
    const auto* x = static_cast<const block_q5_0*>(vx);
    for (int64_t i = 0; i < n / QK5_0; ++i, y += QK5_0) {
        const float d = fp16_to_fp32(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int h0 = int((qh >> j) & 1u) << 4;
            const int h1 = int((qh >> (j + QK5_0 / 2)) & 1u) << 4;
            y[j] = float(((x[i].qs[j] & 0xF) | h0) - 16) * d;
            y[j + QK5_0 / 2] = float(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

// x = d * q + m, q in [0, 31].
void dequantize_row_q5_1(const void* vx, float* y, int64_t n) {
    assert(n % QK5_1 == 0);
    const auto* x = static_cast<const block_q5_1*>(vx);
    for (int64_t i = 0; i < n / QK5_1; ++i, y += QK5_1) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int h0 = int((qh >> j) & 1u) << 4;
            const int h1 = int((qh >> (j + QK5_1 / 2)) & 1u) << 4;
            y[j] = float((x[i].qs[j] & 0xF) | h0) * d + m;
            y[j + QK5_1 / 2] = float((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

// x = d * q.
void dequantize_row_q8_0(const void* vx, float* y, int64_t n) {
    assert(n % QK8_0 == 0);
    const auto* x = static_cast<const block_q8_0*>(vx);
    for (int64_t i = 0; i < n / QK8_0; ++i, y += QK8_0) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_0; ++j) y[j] = float(x[i].qs[j]) * d;
    }
}

// x = d * q (s is a cached sum, not needed to reconstruct the values).
void dequantize_row_q8_1(const void* vx, float* y, int64_t n) {
    assert(n % QK8_1 == 0);
    const auto* x = static_cast<const block_q8_1*>(vx);
    for (int64_t i = 0; i < n / QK8_1; ++i, y += QK8_1) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_1; ++j) y[j] = float(x[i].qs[j]) * d;
    }
}

}  // namespace moecpu
