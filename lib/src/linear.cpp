#include "lib/src/linear.h"

#include <algorithm>

#include "cpu-kernels/dispatch.h"
#include "lib/src/error.h"
#include "quant/type_traits.h"

namespace moecpu {

size_t linear_scratch_bytes(int64_t k, int64_t n_tokens) {
    // The widest activation format is f32 (4 bytes per element); the Q8 formats are smaller.
    return size_t(k) * size_t(n_tokens) * sizeof(float) + 64;
}

void linear(const WeightView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, const LinearScratch& scratch, int n_threads) {
    const kernels::KernelTable& kt = kernels::active();
    const TypeTraits& wt = traits_of(w.type);
    const GgmlType act_type = wt.vec_dot_type;
    const size_t act_row = row_size(act_type, w.cols);
    if (act_row * size_t(n_tokens) > scratch.act_bytes)
        fail(MOECPU_ERR_INTERNAL, "linear: activation scratch too small");
    const kernels::MatTileFn tile = kt.mat_tile[int(w.type)];
    const kernels::QuantizeActFn quantize = kt.quantize_act[int(act_type)];
    if (!tile || !quantize) fail(MOECPU_ERR_UNSUPPORTED, std::string("no kernel for weight type ") + wt.name);

    for (int64_t t = 0; t < n_tokens; ++t) quantize(x + t * x_stride, scratch.act + size_t(t) * act_row, w.cols);

    // Row chunks are the unit of work: each thread streams its own slice of the weights once
    // for all tokens, so a weight block is unpacked once per group of up to kTileCols tokens.
    constexpr int64_t kChunk = kernels::kTileRows;
    const int64_t n_chunks = (w.rows + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_threads > 1 && n_chunks > 1)
    for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t r0 = c * kChunk;
        const int nr = int(std::min<int64_t>(kChunk, w.rows - r0));
        for (int64_t t0 = 0; t0 < n_tokens; t0 += kernels::kTileCols) {
            const int nc = int(std::min<int64_t>(kernels::kTileCols, n_tokens - t0));
            tile(w.cols, w.data + size_t(r0) * w.row_bytes, w.row_bytes, nr, scratch.act + size_t(t0) * act_row,
                 act_row, nc, y + t0 * y_stride + r0, size_t(y_stride));
        }
    }
}

}  // namespace moecpu
