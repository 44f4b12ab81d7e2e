#include "cpu-kernels/matmul.h"

#include <omp.h>

#include <algorithm>

#include "cpu-kernels/act_format.h"
#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/work_split.h"
#include "quant/type_traits.h"

namespace moecpu::kernels {
namespace {

inline const KernelTable& table_of(const MatmulArgs& a) { return a.table ? *a.table : active(); }

// Rows per work item: kTileRows, halved while that leaves threads without work on small matrices.
int64_t rows_per_chunk(int64_t n_rows, int64_t n_col_chunks, int nth) {
    int64_t rows = kTileRows;
    while (rows > 4 && ceil_div(n_rows, rows) * n_col_chunks < 2 * int64_t(nth)) rows /= 2;
    return rows;
}

}  // namespace

size_t matmul_work_size(GgmlType w_type, int64_t k, int64_t n_tokens) {
    const GgmlType at = act_type_for(w_type);
    return at == GgmlType::F32 ? 0 : size_t(n_tokens) * row_size(at, k);
}

void matmul_quantize(const MatmulArgs& args, int ith, int nth) {
    const GgmlType at = act_type_for(args.w_type);
    if (at == GgmlType::F32 || args.n_tokens <= 0) return;
    const QuantizeActFn quantize = table_of(args).quantize_act[static_cast<int>(at)];
    const int64_t block = traits_of(at).block_size;
    const size_t block_bytes = traits_of(at).type_size;
    const int64_t blocks_per_row = args.k / block;
    const size_t act_row = size_t(blocks_per_row) * block_bytes;
    auto* act = static_cast<uint8_t*>(args.work);  // [n_tokens][act_row]

    // Blocks of all rows, split evenly: a single token's row is shared by the threads too.
    const Range mine = split_evenly(args.n_tokens * blocks_per_row, ith, nth);
    for (int64_t i = mine.begin; i < mine.end;) {
        const int64_t t = i / blocks_per_row, b0 = i % blocks_per_row;
        const int64_t b1 = std::min(blocks_per_row, b0 + (mine.end - i));
        quantize(args.x + t * args.x_stride + b0 * block, act + t * act_row + b0 * block_bytes, (b1 - b0) * block);
        i += b1 - b0;
    }
}

void matmul_compute(const MatmulArgs& args, int ith, int nth) {
    if (args.n_tokens <= 0 || args.n_rows <= 0) return;
    const MatTileFn tile = table_of(args).mat_tile[static_cast<int>(args.w_type)];
    const GgmlType at = act_type_for(args.w_type);
    const bool in_place = at == GgmlType::F32;
    const auto* act = in_place ? reinterpret_cast<const uint8_t*>(args.x) : static_cast<const uint8_t*>(args.work);
    const size_t act_row = in_place ? size_t(args.x_stride) * sizeof(float) : row_size(at, args.k);
    const auto* w = static_cast<const uint8_t*>(args.w);

    const int64_t cols = balanced_chunk(args.n_tokens, kTileCols);
    const int64_t n_col_chunks = ceil_div(args.n_tokens, cols);
    const int64_t rows = rows_per_chunk(args.n_rows, n_col_chunks, nth);
    const int64_t n_row_chunks = ceil_div(args.n_rows, rows);

    // Items in row-major (row chunk, column chunk) order: a thread keeps one weight chunk in cache
    // across the column chunks it owns.
    const Range mine = split_evenly(n_row_chunks * n_col_chunks, ith, nth);
    for (int64_t item = mine.begin; item < mine.end; ++item) {
        const int64_t r0 = (item / n_col_chunks) * rows, c0 = (item % n_col_chunks) * cols;
        const int nr = int(std::min(rows, args.n_rows - r0));
        const int nc = int(std::min(cols, args.n_tokens - c0));
        tile(args.k, w + r0 * args.w_row_bytes, args.w_row_bytes, nr, act + c0 * act_row, act_row, nc,
             args.y + c0 * args.y_stride + r0, size_t(args.y_stride));
    }
}

void matmul_thread(const MatmulArgs& args, int ith, int nth) {
    matmul_quantize(args, ith, nth);
    // A lone caller skips the barrier: inside someone else's team it would wait for them forever.
    if (nth > 1) {
#pragma omp barrier
    }
    matmul_compute(args, ith, nth);
}

void matmul(const MatmulArgs& args, int n_threads) {
    if (n_threads <= 1) {
        matmul_thread(args, 0, 1);
        return;
    }
    // The team may come out smaller than asked (nested regions): split by its real size.
#pragma omp parallel num_threads(n_threads)
    matmul_thread(args, omp_get_thread_num(), omp_get_num_threads());
}

}  // namespace moecpu::kernels
