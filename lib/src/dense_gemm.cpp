#include "lib/src/dense_gemm.h"

#include <omp.h>

#if MOECPU_HAVE_BLAS
#include <oneapi/dnnl/dnnl.h>
#endif

namespace moecpu {
namespace {

// Thresholds measured on the 2-core AVX-512 EPYC (chrt -f 10, 2 threads, 2048 x 7168 weights,
// a standalone bench of kernels::matmul vs the two sgemms; GFLOP/s, median of 5):
//   n tokens            16    32    64   128   256   512
//   F32 mat_tile        97   114   133   141   142   142
//   OpenBLAS sgemm     127   170   204   227   241   248
//   oneDNN sgemm        42    77   133   208   293   352
// OpenBLAS wins from 16 tokens in isolation, but its pthread pool and the forward's OpenMP team
// then fight over the cores: in the forward (moe-bench, attention's per-token f32 products going
// to OpenBLAS) OpenMP's spinning workers starved OpenBLAS's threads — with
// OMP_WAIT_POLICY=active under SCHED_FIFO a 32-token prompt never finished. oneDNN runs on the
// same OpenMP team, so only oneDNN is used, from 128 tokens.
// Quantized weights stay on the int8 kernels: dequantizing to f32 + the best sgemm never won for
// K-quants (Q4_K 437 vs 163 GFLOP/s at n=64, 458 vs 339 at n=512; Q6_K 476 vs 130 / 526 vs 317)
// and Q8_0 only tied at n=512 (309 vs 341 before the cost of a planned panel). F16 / BF16 would
// win from n=256 with a converted panel (BF16 kernel 168 vs 262 at n=256, 171 vs 344 at 512):
// not done yet.
constexpr int64_t kOnednnMinTokens = 128;

}  // namespace

bool dense_gemm_wins(GgmlType w_type, int64_t n_tokens) {
    return MOECPU_HAVE_BLAS && w_type == GgmlType::F32 && n_tokens >= kOnednnMinTokens;
}

namespace {

// oneDNN's sgemm runs on the OpenMP team of omp_get_max_threads(): set it for this call. Inside
// a parallel region (only with serial) it runs on the calling thread.
bool onednn_sgemm(char trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc, int n_threads, bool serial = false) {
#if MOECPU_HAVE_BLAS
    if ((omp_in_parallel() && !serial) || m <= 0 || n <= 0 || k <= 0) return false;
    if (serial) n_threads = 1;
    const int saved = omp_get_max_threads();
    omp_set_num_threads(n_threads < 1 ? 1 : n_threads);
    const dnnl_status_t st = dnnl_sgemm('N', trans_b, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    omp_set_num_threads(saved);
    return st == dnnl_success;
#else
    (void)trans_b, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc, (void)n_threads,
        (void)serial;
    return false;
#endif
}

}  // namespace

bool dense_gemm_f32(const float* x, int64_t x_stride, int64_t n, const float* w, int64_t w_stride, int64_t rows,
                    int64_t k, float* y, int64_t y_stride, int n_threads) {
    return onednn_sgemm('T', n, rows, k, x, x_stride, w, w_stride, y, y_stride, n_threads);
}

bool dense_gemm_f32_serial(const float* x, int64_t x_stride, int64_t n, const float* w, int64_t w_stride,
                           int64_t rows, int64_t k, float* y, int64_t y_stride) {
    return onednn_sgemm('T', n, rows, k, x, x_stride, w, w_stride, y, y_stride, 1, true);
}

bool dense_gemm_f32_nn_serial(const float* a, int64_t a_stride, int64_t m, const float* b, int64_t b_stride, int64_t n,
                              int64_t k, float* c, int64_t c_stride) {
    return onednn_sgemm('N', m, n, k, a, a_stride, b, b_stride, c, c_stride, 1, true);
}

bool dense_gemm_f32_nn(const float* a, int64_t a_stride, int64_t m, const float* b, int64_t b_stride, int64_t n,
                       int64_t k, float* c, int64_t c_stride, int n_threads) {
    return onednn_sgemm('N', m, n, k, a, a_stride, b, b_stride, c, c_stride, n_threads);
}

}  // namespace moecpu
