#include "lib/src/linear.h"

#include "cpu-kernels/matmul.h"
#include "lib/src/error.h"

namespace moecpu {

size_t linear_scratch_bytes(int64_t k, int64_t n_tokens) {
    // Bounded by f32 (4 bytes per element); the Q8 activation formats are smaller.
    return size_t(k) * size_t(n_tokens) * sizeof(float) + 64;
}

void linear(const WeightView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, const LinearScratch& scratch, int n_threads) {
    if (kernels::matmul_work_size(w.type, w.cols, n_tokens) > scratch.act_bytes)
        fail(MOECPU_ERR_INTERNAL, "linear: activation scratch too small");
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
    a.work = scratch.act;
    kernels::matmul(a, n_threads);
}

}  // namespace moecpu
