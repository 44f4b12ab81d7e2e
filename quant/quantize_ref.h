// Every reference (portable, scalar) quantize / dequantize function of moecpu in one place.
// The bit layouts are ggml's (quant/block_formats.h), so rows produced here load in llama.cpp and
// rows from llama.cpp's GGUF files dequantize here. Three families per type, as in ggml:
//
//   dequantize_row_<t>(x, y, n)     n elements (a multiple of the block size) → floats.
//   quantize_row_<t>_ref(x, y, n)   the plain, deterministic algorithm (no importance weights).
//                                   For the activation types Q8_0 / Q8_1 / Q8_K this is exactly
//                                   ggml's, bit for bit; the scalar kernels call these.
//   quantize_<t>(src, dst, nrows, n_per_row, importance)
//                                   nrows rows of n_per_row; `importance` holds n_per_row
//                                   per-column weights (an imatrix), or null for the plain
//                                   algorithm (which is what ggml does without an imatrix).
//                                   Returns bytes written = nrows * row_size(t, n_per_row).
//
// Types whose quantize ignores the importance (as ggml's): F32, F16, BF16, Q8_0, Q8_1, Q8_K.
// All functions take untyped pointers so they fit the type-traits function pointers directly.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moecpu {

// Plain float formats (float_formats.cpp). F16 rounds to nearest even with overflow to inf;
// BF16 rounds to nearest even and keeps NaN a (quiet) NaN, as ggml_fp32_to_bf16_row_ref.
void dequantize_row_f32(const void* x, float* y, int64_t n);
void quantize_row_f32_ref(const float* x, void* y, int64_t n);
size_t quantize_f32(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_f16(const void* x, float* y, int64_t n);
void quantize_row_f16_ref(const float* x, void* y, int64_t n);
size_t quantize_f16(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_bf16(const void* x, float* y, int64_t n);
void quantize_row_bf16_ref(const float* x, void* y, int64_t n);
size_t quantize_bf16(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);

// 32-element "legacy" blocks (quantize_legacy.cpp, dequantize_legacy.cpp).
// Q8_1 is the activation type of Q4_1 / Q5_1 (s = d * sum(qs)).
void dequantize_row_q4_0(const void* x, float* y, int64_t n);
void quantize_row_q4_0_ref(const float* x, void* y, int64_t n);
size_t quantize_q4_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q4_1(const void* x, float* y, int64_t n);
void quantize_row_q4_1_ref(const float* x, void* y, int64_t n);
size_t quantize_q4_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q5_0(const void* x, float* y, int64_t n);
void quantize_row_q5_0_ref(const float* x, void* y, int64_t n);
size_t quantize_q5_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q5_1(const void* x, float* y, int64_t n);
void quantize_row_q5_1_ref(const float* x, void* y, int64_t n);
size_t quantize_q5_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q8_0(const void* x, float* y, int64_t n);
void quantize_row_q8_0_ref(const float* x, void* y, int64_t n);
size_t quantize_q8_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q8_1(const void* x, float* y, int64_t n);
void quantize_row_q8_1_ref(const float* x, void* y, int64_t n);
size_t quantize_q8_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);

// 256-element super-blocks (quantize_k_low.cpp: Q2_K, Q3_K; quantize_k_high.cpp: Q4_K, Q5_K,
// Q6_K, Q8_K; dequantize_k.cpp). Q8_K is the activation type of the K-quants:
// d = max/-127 where max is the signed element of largest magnitude; bsums filled.
void dequantize_row_q2_K(const void* x, float* y, int64_t n);
void quantize_row_q2_K_ref(const float* x, void* y, int64_t n);
size_t quantize_q2_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q3_K(const void* x, float* y, int64_t n);
void quantize_row_q3_K_ref(const float* x, void* y, int64_t n);
size_t quantize_q3_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q4_K(const void* x, float* y, int64_t n);
void quantize_row_q4_K_ref(const float* x, void* y, int64_t n);
size_t quantize_q4_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q5_K(const void* x, float* y, int64_t n);
void quantize_row_q5_K_ref(const float* x, void* y, int64_t n);
size_t quantize_q5_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q6_K(const void* x, float* y, int64_t n);
void quantize_row_q6_K_ref(const float* x, void* y, int64_t n);
size_t quantize_q6_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);
void dequantize_row_q8_K(const void* x, float* y, int64_t n);
void quantize_row_q8_K_ref(const float* x, void* y, int64_t n);
size_t quantize_q8_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* importance);

}  // namespace moecpu
