// Row dots of the 32-element block formats against Q8_0 / Q8_1 activations.
#include <cstring>

#include "cpu-kernels/scalar/scalar_kernels.h"
#include "quant/block_formats.h"
#include "quant/fp16.h"

namespace moecpu::kernels::scalar {
namespace {

// Bit j of a Q5 block's qh (little-endian 32-bit mask, read byte-wise to stay endian-free).
inline int q5_high_bit(const uint8_t qh[4], int j) { return (qh[j >> 3] >> (j & 7)) & 1; }

}  // namespace

float dot_q4_0(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q4_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK4_0; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK4_0 / 2; ++j) {
            isum += ((x[b].qs[j] & 0x0F) - 8) * y[b].qs[j];
            isum += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + QK4_0 / 2];
        }
        acc += double(fp16_to_fp32(x[b].d)) * fp16_to_fp32(y[b].d) * isum;
    }
    return float(acc);
}

float dot_q4_1(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q4_1*>(w);
    const auto* y = static_cast<const block_q8_1*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK4_1; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK4_1 / 2; ++j) {
            isum += (x[b].qs[j] & 0x0F) * y[b].qs[j];
            isum += (x[b].qs[j] >> 4) * y[b].qs[j + QK4_1 / 2];
        }
        // The min m multiplies the activation block sum, which Q8_1 carries as s = d * sum(qs).
        acc += double(fp16_to_fp32(x[b].d)) * fp16_to_fp32(y[b].d) * isum +
               double(fp16_to_fp32(x[b].m)) * fp16_to_fp32(y[b].s);
    }
    return float(acc);
}

float dot_q5_0(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q5_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK5_0; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int lo = (x[b].qs[j] & 0x0F) | (q5_high_bit(x[b].qh, j) << 4);
            const int hi = (x[b].qs[j] >> 4) | (q5_high_bit(x[b].qh, j + QK5_0 / 2) << 4);
            isum += (lo - 16) * y[b].qs[j] + (hi - 16) * y[b].qs[j + QK5_0 / 2];
        }
        acc += double(fp16_to_fp32(x[b].d)) * fp16_to_fp32(y[b].d) * isum;
    }
    return float(acc);
}

float dot_q5_1(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q5_1*>(w);
    const auto* y = static_cast<const block_q8_1*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK5_1; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int lo = (x[b].qs[j] & 0x0F) | (q5_high_bit(x[b].qh, j) << 4);
            const int hi = (x[b].qs[j] >> 4) | (q5_high_bit(x[b].qh, j + QK5_1 / 2) << 4);
            isum += lo * y[b].qs[j] + hi * y[b].qs[j + QK5_1 / 2];
        }
        acc += double(fp16_to_fp32(x[b].d)) * fp16_to_fp32(y[b].d) * isum +
               double(fp16_to_fp32(x[b].m)) * fp16_to_fp32(y[b].s);
    }
    return float(acc);
}

float dot_q8_0(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const block_q8_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    double acc = 0.0;
    for (int64_t b = 0; b < k / QK8_0; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < QK8_0; ++j) isum += x[b].qs[j] * y[b].qs[j];
        acc += double(fp16_to_fp32(x[b].d)) * fp16_to_fp32(y[b].d) * isum;
    }
    return float(acc);
}

}  // namespace moecpu::kernels::scalar
