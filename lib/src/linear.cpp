#include "lib/src/linear.h"

#include "lib/src/activation_observer.h"

#include "cpu-kernels/fork_threshold.h"
#include "cpu-kernels/matmul.h"
#include "lib/src/dense_gemm.h"
#include "lib/src/error.h"

namespace moecpu {

size_t linear_scratch_bytes(int64_t k, int64_t n_tokens) {
    // Bounded by f32 (4 bytes per element); the Q8 activation formats are smaller.
    return size_t(k) * size_t(n_tokens) * sizeof(float) + 64;
}

kernels::MatmulArgs matmul_args(const WeightView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                                int64_t y_stride, void* work) {
    kernels::MatmulArgs a;
    a.w_type = w.type;
    a.w = w.data;
    a.w_row_bytes = w.row_bytes;
    a.n_rows = w.rows;
    a.k = w.cols;
    a.x = x;
    a.x_stride = x_stride;
    a.n_tokens = n_tokens;
    a.y = y;
    a.y_stride = y_stride;
    a.work = work;
    return a;
}

void linear(const WeightView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, const LinearScratch& scratch, int n_threads) {
    if (ActivationObserver* observer = activation_observer()) observer->observe(w, x, x_stride, n_tokens);
    // A small product is done before a second thread would even have started.
    n_threads = kernels::threads_for_work(w.rows * w.cols * n_tokens, n_threads);
    // Big batches of f32 weights are compute-bound: a tuned sgemm beats mat_tile there.
    if (dense_gemm_wins(w.type, n_tokens) &&
        dense_gemm_f32(x, x_stride, n_tokens, reinterpret_cast<const float*>(w.data), int64_t(w.row_bytes / sizeof(float)),
                       w.rows, w.cols, y, y_stride, n_threads))
        return;
    if (kernels::matmul_work_size(w.type, w.cols, n_tokens) > scratch.act_bytes)
        fail(MOECPU_ERR_INTERNAL, "linear: activation scratch too small");
    kernels::matmul(matmul_args(w, x, x_stride, n_tokens, y, y_stride, scratch.act), n_threads);
}

}  // namespace moecpu
