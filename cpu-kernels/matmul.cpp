#include "cpu-kernels/matmul.h"

#include <omp.h>

#include <algorithm>

#include "cpu-kernels/act_format.h"
#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/work_queue.h"
#include "cpu-kernels/work_split.h"
#include "cpu-kernels/work_stealing.h"
#include "quant/type_traits.h"

namespace moecpu::kernels {
namespace {

inline const KernelTable& table_of(const MatmulArgs& a) { return a.table ? *a.table : active(); }

// Shortest run of the guided queue, as a share of the items per thread.
constexpr int64_t kRunsPerThreadMax = 32;

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

namespace {

// How matmul_compute cuts the product into items: row chunks × column chunks, row-major, so a
// thread keeps one weight chunk in cache across the column chunks of the items it takes.
struct ItemGrid {
    int64_t cols, n_col_chunks, rows, n_items;
};

ItemGrid item_grid(const MatmulArgs& args, int nth) {
    ItemGrid g;
    g.cols = balanced_chunk(args.n_tokens, kTileCols);
    g.n_col_chunks = ceil_div(args.n_tokens, g.cols);
    g.rows = rows_per_chunk(args.n_rows, g.n_col_chunks, nth);
    g.n_items = ceil_div(args.n_rows, g.rows) * g.n_col_chunks;
    return g;
}

void compute_items(const MatmulArgs& args, const ItemGrid& g, Range items) {
    const MatTileFn tile = table_of(args).mat_tile[static_cast<int>(args.w_type)];
    const GgmlType at = act_type_for(args.w_type);
    const bool in_place = at == GgmlType::F32;
    const auto* act = in_place ? reinterpret_cast<const uint8_t*>(args.x) : static_cast<const uint8_t*>(args.work);
    const size_t act_row = in_place ? size_t(args.x_stride) * sizeof(float) : row_size(at, args.k);
    const auto* w = static_cast<const uint8_t*>(args.w);
    for (int64_t item = items.begin; item < items.end; ++item) {
        const int64_t r0 = (item / g.n_col_chunks) * g.rows, c0 = (item % g.n_col_chunks) * g.cols;
        const int nr = int(std::min(g.rows, args.n_rows - r0));
        const int nc = int(std::min(g.cols, args.n_tokens - c0));
        tile(args.k, w + r0 * args.w_row_bytes, args.w_row_bytes, nr, act + c0 * act_row, act_row, nc,
             args.y + c0 * args.y_stride + r0, size_t(args.y_stride));
    }
}

}  // namespace

void matmul_compute(const MatmulArgs& args, int ith, int nth) {
    if (args.n_tokens <= 0 || args.n_rows <= 0) return;
    const ItemGrid g = item_grid(args, nth);
    compute_items(args, g, split_evenly(g.n_items, ith, nth));
}

// Every thread's share of the activation quantized before any thread reads it. A lone caller
// skips the barrier: inside someone else's team it would wait for them forever.
static void quantize_then_wait(const MatmulArgs& args, int ith, int nth) {
    matmul_quantize(args, ith, nth);
    if (nth > 1) {
#pragma omp barrier
    }
}

void matmul_thread(const MatmulArgs& args, int ith, int nth) {
    quantize_then_wait(args, ith, nth);
    matmul_compute(args, ith, nth);
}

void matmul(const MatmulArgs& args, int n_threads) {
    if (n_threads <= 1) {
        matmul_thread(args, 0, 1);
        return;
    }
    // A matvec streams its weights: one contiguous range per thread keeps each stream long for
    // the hardware prefetcher (moe-bench --kernels, n=1, 2 threads, alternating runs: the guided
    // queue below streamed 3-8 % less than a static split on Q4_K and Q2_K expert shapes). The
    // ranges are stolen from at their back ends (work_stealing.h): with a static split the two
    // threads of a V3 decode step's matvecs finished 4-23 % of the products' time apart.
    if (args.n_tokens == 1 && args.n_rows > 0) {
        const ItemGrid g = item_grid(args, n_threads);
        if (g.n_items <= StealingRanges::kMaxTotal) {
            StealingRanges ranges;
            ranges.reset(g.n_items, n_threads);
#pragma omp parallel num_threads(n_threads)
            {
                const int ith = omp_get_thread_num();
                quantize_then_wait(args, ith, omp_get_num_threads());
                Range run;
                while (ranges.take(ith, run)) compute_items(args, g, run);
            }
            return;
        }
    }
    // Its own team, so the items go through a guided queue (work_queue.h) instead of a static
    // split: the thread that is ahead takes the last ones.
    GuidedQueue queue;
    // The team may come out smaller than asked (nested regions): split by its real size.
#pragma omp parallel num_threads(n_threads)
    {
        const int ith = omp_get_thread_num(), nth = omp_get_num_threads();
        quantize_then_wait(args, ith, nth);
        if (args.n_tokens > 0 && args.n_rows > 0) {
            const ItemGrid g = item_grid(args, nth);
            const int64_t min_run = std::max<int64_t>(1, g.n_items / (kRunsPerThreadMax * nth));
            Range run;
            while (queue.take(g.n_items, nth, min_run, run)) compute_items(args, g, run);
        }
    }
}

}  // namespace moecpu::kernels
