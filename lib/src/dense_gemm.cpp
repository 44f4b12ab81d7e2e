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

// C is computed in slices of this many columns, one oneDNN call each.
constexpr int64_t kSliceColumns = 256;

// Splits C's n columns into fixed slices, spread over a team of n_threads, each through oneDNN's
// sgemm on its own thread (inside a parallel region oneDNN runs on the calling thread). oneDNN
// chooses how to split and order the sum over k from the thread count and the problem's shape,
// so on AVX2 CPUs its results changed with the thread count (test_thread_count on Zen 3); fixed
// slices give every element the same call whatever the team. Only called outside parallel
// regions, except with serial (one thread, in place).
bool onednn_sgemm(char trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc, int n_threads, bool serial = false) {
#if MOECPU_HAVE_BLAS
    if ((omp_in_parallel() && !serial) || m <= 0 || n <= 0 || k <= 0) return false;
    if (serial) n_threads = 1;
    const int64_t n_slices = (n + kSliceColumns - 1) / kSliceColumns;
    const int team = int(n_threads < 1 ? 1 : (n_slices < n_threads ? n_slices : n_threads));
    auto slice = [&](int ith) {
        bool ok = true;
        for (int64_t s = n_slices * ith / team; s < n_slices * (ith + 1) / team; ++s) {
            const int64_t j0 = s * kSliceColumns, j1 = j0 + kSliceColumns < n ? j0 + kSliceColumns : n;
            // B holds C's columns as its columns ('N': b[kk * ldb + j]) or rows ('T': b[j * ldb + kk]).
            const float* bj = trans_b == 'N' ? b + j0 : b + j0 * ldb;
            ok = ok && dnnl_sgemm('N', trans_b, m, j1 - j0, k, 1.0f, a, lda, bj, ldb, 0.0f, c + j0, ldc) == dnnl_success;
        }
        return ok;
    };
    if (team == 1) {
        // Outside a region oneDNN would start a team of omp_get_max_threads(): keep it to this one.
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        const bool ok = slice(0);
        omp_set_num_threads(saved);
        return ok;
    }
    bool ok = true;
#pragma omp parallel num_threads(team) reduction(&& : ok)
    ok = slice(omp_get_thread_num());
    return ok;
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
