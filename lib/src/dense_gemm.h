// Big-batch f32 GEMM through oneDNN's sgemm (on the OpenMP team; OpenBLAS measured and rejected,
// see dense_gemm.cpp), for the linears where it beats the kernel table's mat_tile. Absent
// (returns false) in builds without BLAS (MOECPU_HAVE_BLAS=0, e.g. aarch64) and inside an OpenMP
// parallel region (the forward's own teams are not nested into).
#pragma once
#include <cstdint>

#include "quant/ggml_types.h"

namespace moecpu {

// True when y = W·x for this weight type and batch should go to dense_gemm_f32.
bool dense_gemm_wins(GgmlType w_type, int64_t n_tokens);

// y[n][rows] = x[n][k] · w[rows][k]^T, all row-major with the given strides (in floats).
// Returns false (nothing written) when no BLAS backend can run here; the caller falls back.
bool dense_gemm_f32(const float* x, int64_t x_stride, int64_t n, const float* w, int64_t w_stride, int64_t rows,
                    int64_t k, float* y, int64_t y_stride, int n_threads);

// dense_gemm_f32 on the calling thread alone, allowed inside a parallel region: for work that is
// already split over threads (per-head products of MLA prefill). oneDNN runs its kernels there
// sequentially: 220 GFLOP/s per thread on 256x128x512 products, ~3x the f32 mat_tile.
bool dense_gemm_f32_serial(const float* x, int64_t x_stride, int64_t n, const float* w, int64_t w_stride,
                           int64_t rows, int64_t k, float* y, int64_t y_stride);

// c[m][n] = a[m][k] · b[k][n] as dense_gemm_f32_nn below, on the calling thread alone (as
// dense_gemm_f32_serial): MLA prefill's keys from the latents and k_b as stored ([kv_lora][nope]),
// with no transposed copy of the weights.
bool dense_gemm_f32_nn_serial(const float* a, int64_t a_stride, int64_t m, const float* b, int64_t b_stride, int64_t n,
                              int64_t k, float* c, int64_t c_stride);

// True when this build has a BLAS backend (the functions above can succeed).
constexpr bool dense_gemm_available() { return MOECPU_HAVE_BLAS != 0; }

// c[m][n] = a[m][k] · b[k][n], row-major with the given strides (in floats): the weighted sum of
// cached rows in MLA decode attention (probabilities × latent cache), where b's rows are the
// positions. Returns false (nothing written) when no BLAS backend can run here.
bool dense_gemm_f32_nn(const float* a, int64_t a_stride, int64_t m, const float* b, int64_t b_stride, int64_t n,
                       int64_t k, float* c, int64_t c_stride, int n_threads);

}  // namespace moecpu
