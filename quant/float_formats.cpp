// F32 / F16 / BF16 rows: conversion only; the importance weights have nothing to act on.
#include <cstring>

#include "quant/fp16.h"
#include "quant/quantize_ref.h"

namespace moecpu {

void dequantize_row_f32(const void* x, float* y, int64_t n) {
    std::memcpy(y, x, size_t(n) * sizeof(float));
}

void quantize_row_f32_ref(const float* x, void* y, int64_t n) {
    std::memcpy(y, x, size_t(n) * sizeof(float));
}

size_t quantize_f32(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float*) {
    quantize_row_f32_ref(src, dst, nrows * n_per_row);
    return size_t(nrows * n_per_row) * sizeof(float);
}

void dequantize_row_f16(const void* x, float* y, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(x);
    for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(h[i]);
}

void quantize_row_f16_ref(const float* x, void* y, int64_t n) {
    auto* h = static_cast<uint16_t*>(y);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(x[i]);
}

size_t quantize_f16(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float*) {
    quantize_row_f16_ref(src, dst, nrows * n_per_row);
    return size_t(nrows * n_per_row) * sizeof(uint16_t);
}

void dequantize_row_bf16(const void* x, float* y, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(x);
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(h[i]);
}

void quantize_row_bf16_ref(const float* x, void* y, int64_t n) {
    auto* h = static_cast<uint16_t*>(y);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(x[i]);
}

size_t quantize_bf16(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float*) {
    quantize_row_bf16_ref(src, dst, nrows * n_per_row);
    return size_t(nrows * n_per_row) * sizeof(uint16_t);
}

}  // namespace moecpu
