#include "cpu-kernels/moe_matmul.h"

#include <omp.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>

#include "cpu-kernels/act_format.h"
#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/work_queue.h"
#include "cpu-kernels/work_split.h"

namespace moecpu::kernels {
namespace {

// Weight streaming cost of one row chunk, in units of one token column of compute. Only the
// balance of the split depends on it.
constexpr int64_t kChunkStreamCost = 4;
// Shortest run of the compute queue, as a share of the total cost per thread.
constexpr int64_t kRunsPerThreadMax = 32;

constexpr size_t align64(size_t n) { return (n + 63) & ~size_t(63); }

// Where everything lives in the work buffer.
struct WorkLayout {
    size_t queue;        // GuidedQueue handing out the compute phase's cost ranges (shared)
    size_t offsets;      // int32 [n_expert + 1]: first gathered pair of each expert (shared)
    size_t pairs;        // int32 [n_pairs_max]: t * n_used + s, in gathered order (shared)
    size_t acts;         // [n_pairs_max][act_row]: gathered activations (shared)
    size_t per_thread;   // max_threads slots, each:
    size_t slot_bytes;   //   int32 [n_expert + 1] cursors, then float [2][kTileCols][kTileRows]
    size_t act_row;
    size_t total;
};

WorkLayout layout_of(const MoeMatmulArgs& a) {
    WorkLayout l;
    const int64_t n_pairs_max = a.n_tokens * a.n_used;
    l.act_row = act_row_bytes(a.w_type, a.k);
    l.queue = 0;
    l.offsets = align64(sizeof(GuidedQueue));
    l.pairs = align64(l.offsets + size_t(a.n_expert + 1) * sizeof(int32_t));
    l.acts = align64(l.pairs + size_t(n_pairs_max) * sizeof(int32_t));
    l.per_thread = align64(l.acts + size_t(n_pairs_max) * l.act_row);
    l.slot_bytes = align64(size_t(a.n_expert + 1) * sizeof(int32_t)) + 2 * size_t(kTileCols) * kTileRows * sizeof(float);
    l.total = l.per_thread + size_t(std::max(a.max_threads, 1)) * l.slot_bytes;
    return l;
}

inline const KernelTable& table_of(const MoeMatmulArgs& a) { return a.table ? *a.table : active(); }

inline int32_t expert_of(const MoeMatmulArgs& a, int64_t t, int64_t s) { return a.ids[t * a.ids_stride + s]; }
inline bool valid_expert(const MoeMatmulArgs& a, int32_t e) { return e >= 0 && e < a.n_expert; }

template <class T>
T* at(void* work, size_t offset) { return reinterpret_cast<T*>(static_cast<uint8_t*>(work) + offset); }

}  // namespace

size_t moe_matmul_work_size(const MoeMatmulArgs& args) { return layout_of(args).total; }

void moe_matmul_prepare(const MoeMatmulArgs& a, int ith, int nth) {
    assert(nth <= std::max(a.max_threads, 1));
    const WorkLayout l = layout_of(a);
    // Every thread runs the counting sort itself (O(pairs + experts), far below one row of
    // compute) into its own cursors, so grouping needs no extra barrier; thread 0 publishes it.
    int32_t* cursor = at<int32_t>(a.work, l.per_thread + size_t(ith) * l.slot_bytes);  // [n_expert + 1]
    std::fill(cursor, cursor + a.n_expert + 1, 0);
    for (int64_t t = 0; t < a.n_tokens; ++t)
        for (int64_t s = 0; s < a.n_used; ++s) {
            const int32_t e = expert_of(a, t, s);
            if (valid_expert(a, e)) ++cursor[e + 1];
        }
    for (int64_t e = 0; e < a.n_expert; ++e) cursor[e + 1] += cursor[e];  // cursor[e] = first pair of e
    const int64_t n_pairs = cursor[a.n_expert];
    if (ith == 0) {
        std::memcpy(at<int32_t>(a.work, l.offsets), cursor, size_t(a.n_expert + 1) * sizeof(int32_t));
        new (at<GuidedQueue>(a.work, l.queue)) GuidedQueue();  // fresh for this call's compute phase
    }

    int32_t* pairs = at<int32_t>(a.work, l.pairs);
    uint8_t* acts = at<uint8_t>(a.work, l.acts);
    const QuantizeActFn convert = table_of(a).quantize_act[static_cast<int>(act_type_for(a.w_type))];
    const Range mine = split_evenly(n_pairs, ith, nth);  // gathered rows this thread converts
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        // With one input row per token (x_slot_stride = 0, the gate / up input) every slot of the
        // token gathers the same converted row: convert it once, copy it for the other slots.
        int64_t converted = -1;  // position of this token's row converted by this thread
        for (int64_t s = 0; s < a.n_used; ++s) {
            const int32_t e = expert_of(a, t, s);
            if (!valid_expert(a, e)) continue;
            const int64_t pos = cursor[e]++;
            if (ith == 0) pairs[pos] = int32_t(t * a.n_used + s);
            if (pos < mine.begin || pos >= mine.end) continue;
            uint8_t* row = acts + size_t(pos) * l.act_row;
            if (a.x_slot_stride == 0 && converted >= 0) {
                std::memcpy(row, acts + size_t(converted) * l.act_row, l.act_row);
            } else {
                convert(a.x + t * a.x_token_stride + s * a.x_slot_stride, row, a.k);
                converted = pos;
            }
        }
    }
}

namespace {

// The items (e, j) = (expert, row chunk) whose start cost falls in [lo, hi): item (e, j) starts
// at acc_e + j * cost_e, acc_e the cost of all busy experts before e.
void compute_cost_range(const MoeMatmulArgs& a, const WorkLayout& l, int64_t lo, int64_t hi, float* gate_tile, float* up_tile) {
    const KernelTable& table = table_of(a);
    const MatTileFn tile = table.mat_tile[static_cast<int>(a.w_type)];
    const int32_t* offsets = at<int32_t>(a.work, l.offsets);
    const int32_t* pairs = at<int32_t>(a.work, l.pairs);
    const uint8_t* acts = at<uint8_t>(a.work, l.acts);
    const int64_t rows = kTileRows;
    const int64_t chunks = ceil_div(a.n_rows, rows);  // row chunks per expert
    const auto* w = static_cast<const uint8_t*>(a.w);
    const auto* w_up = static_cast<const uint8_t*>(a.w_up);
    int64_t acc = 0;
    for (int64_t e = 0; e < a.n_expert && acc < hi; ++e) {
        const int64_t n = offsets[e + 1] - offsets[e];
        if (n == 0) continue;
        const int64_t cost = kChunkStreamCost + n;
        const int64_t j0 = std::clamp(ceil_div(std::max<int64_t>(lo - acc, 0), cost), int64_t(0), chunks);
        const int64_t j1 = std::clamp(ceil_div(std::max<int64_t>(hi - acc, 0), cost), int64_t(0), chunks);
        acc += chunks * cost;

        const int64_t cols = balanced_chunk(n, kTileCols);
        for (int64_t j = j0; j < j1; ++j) {
            const int64_t r0 = j * rows;
            const int nr = int(std::min(rows, a.n_rows - r0));
            const size_t w_off = size_t(e) * a.w_expert_bytes + size_t(r0) * a.w_row_bytes;
            for (int64_t c0 = 0; c0 < n; c0 += cols) {
                const int nc = int(std::min(cols, n - c0));
                const uint8_t* act = acts + size_t(offsets[e] + c0) * l.act_row;
                tile(a.k, w + w_off, a.w_row_bytes, nr, act, l.act_row, nc, gate_tile, size_t(rows));
                if (w_up) tile(a.k, w_up + w_off, a.w_row_bytes, nr, act, l.act_row, nc, up_tile, size_t(rows));
                // Scatter the tile's columns to their (token, slot) output rows.
                for (int c = 0; c < nc; ++c) {
                    const int32_t p = pairs[offsets[e] + c0 + c];
                    float* out = a.y + (p / a.n_used) * a.y_token_stride + (p % a.n_used) * a.y_slot_stride + r0;
                    if (w_up) table.silu_mul(gate_tile + c * rows, up_tile + c * rows, out, nr);
                    else std::memcpy(out, gate_tile + c * rows, size_t(nr) * sizeof(float));
                }
            }
        }
    }
}

}  // namespace

void moe_matmul_compute(const MoeMatmulArgs& a, int ith, int nth) {
    const WorkLayout l = layout_of(a);
    const int32_t* offsets = at<int32_t>(a.work, l.offsets);
    uint8_t* slot = at<uint8_t>(a.work, l.per_thread + size_t(ith) * l.slot_bytes);
    float* gate_tile = reinterpret_cast<float*>(slot + align64(size_t(a.n_expert + 1) * sizeof(int32_t)));  // [kTileCols][kTileRows]
    float* up_tile = gate_tile + size_t(kTileCols) * kTileRows;                                              // [kTileCols][kTileRows]

    // Items are (expert, row chunk), costed as weight streaming + one unit per token; threads
    // take cost ranges from the shared queue (work_queue.h) until it is empty, so any thread
    // may take any item and the phase ends when the work does, not when the slowest share does.
    const int64_t chunks = ceil_div(a.n_rows, int64_t(kTileRows));
    int64_t total = 0;
    for (int64_t e = 0; e < a.n_expert; ++e) {
        const int64_t n = offsets[e + 1] - offsets[e];
        if (n > 0) total += chunks * (kChunkStreamCost + n);
    }
    GuidedQueue& queue = *at<GuidedQueue>(a.work, l.queue);
    const int64_t min_run = total / (kRunsPerThreadMax * std::max(nth, 1));
    Range run;
    while (queue.take(total, nth, min_run, run)) compute_cost_range(a, l, run.begin, run.end, gate_tile, up_tile);
}

void moe_matmul_thread(const MoeMatmulArgs& args, int ith, int nth) {
    moe_matmul_prepare(args, ith, nth);
    if (nth > 1) {  // a lone caller inside someone else's team must not wait for it
#pragma omp barrier
    }
    moe_matmul_compute(args, ith, nth);
}

void moe_matmul(const MoeMatmulArgs& args, int n_threads) {
    n_threads = std::min(n_threads, std::max(args.max_threads, 1));
    if (n_threads <= 1) {
        moe_matmul_thread(args, 0, 1);
        return;
    }
#pragma omp parallel num_threads(n_threads)
    moe_matmul_thread(args, omp_get_thread_num(), omp_get_num_threads());
}

}  // namespace moecpu::kernels
