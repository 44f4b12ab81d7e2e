// Mixture-of-experts matmul (ggml's mul_mat_id): for every (token, slot) pair, multiply the
// token's activation row with the rows of the expert that slot selected.
//
//   W:   [n_expert][n_rows][k]  merged expert weights, rows w_row_bytes apart, experts
//                               w_expert_bytes apart (one 3-D GGUF tensor)
//   ids: [n_tokens][n_used]     selected expert per slot; ids outside [0, n_expert) mark an
//                               unused slot whose output is not written
//   x:   row of (t, s) at x + t * x_token_stride + s * x_slot_stride   (x_slot_stride = 0: every
//        slot of a token shares its row, as the gate / up input does)
//   y:   row of (t, s) at y + t * y_token_stride + s * y_slot_stride, n_rows floats
//
// Pairs are grouped by expert (a counting sort) and their activations converted once into a
// gathered buffer, so each selected expert's weights are streamed once per call for all its
// tokens. Work items are (expert, row chunk), costed as weight streaming + one unit per token;
// threads take contiguous runs of that cost from a shared guided queue (work_queue.h), long
// runs first, so a thread that lands on a busy expert, starts late or streams slower takes
// fewer items.
//
// Fused gate + up (w_up non-null): y = silu(W · x) * (W_up · x), W the gate weights, both read
// in the same pass over the gathered activations. The down projection is then a plain call with
// x = that output per (token, slot).
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/kernel_table.h"

namespace moecpu::kernels {

struct MoeMatmulArgs {
    GgmlType w_type = GgmlType::F32;
    const void* w = nullptr;     // [n_expert][n_rows][k]; the gate weights when fused
    const void* w_up = nullptr;  // fused mode: up weights, same type and layout as w; else null
    size_t w_row_bytes = 0;
    size_t w_expert_bytes = 0;
    int64_t n_expert = 0;
    int64_t n_rows = 0;
    int64_t k = 0;

    const int32_t* ids = nullptr;  // [n_tokens][n_used], rows ids_stride apart
    int64_t ids_stride = 0;
    int64_t n_used = 0;
    int64_t n_tokens = 0;

    const float* x = nullptr;
    int64_t x_token_stride = 0;  // floats
    int64_t x_slot_stride = 0;   // floats; 0 = one row per token
    float* y = nullptr;
    int64_t y_token_stride = 0;  // floats
    int64_t y_slot_stride = 0;   // floats

    void* work = nullptr;  // moe_matmul_work_size() bytes, 64-byte aligned
    int max_threads = 1;   // the largest nth the phases will be called with (sizes the work buffer)
    const KernelTable* table = nullptr;  // null: active()
};

// Bytes of work buffer for these shapes (reads w_type, n_expert, k, n_tokens, n_used,
// max_threads; the pointers may still be null).
size_t moe_matmul_work_size(const MoeMatmulArgs& args);

// Phases for a pool with its own barrier: every thread ith of nth runs moe_matmul_prepare
// (grouping + activation conversion), all wait, then every thread runs moe_matmul_compute.
// nth must not exceed max_threads. Compute takes work until none is left, so one thread calling
// it for every ith in turn also covers every item (the first call does all of them). Before the
// work buffer is prepared again, every compute must have returned (a barrier).
void moe_matmul_prepare(const MoeMatmulArgs& args, int ith, int nth);
void moe_matmul_compute(const MoeMatmulArgs& args, int ith, int nth);

// Both phases with an OpenMP barrier between (none when nth = 1), for every thread of the
// innermost parallel team; or a single caller with ith = 0, nth = 1.
void moe_matmul_thread(const MoeMatmulArgs& args, int ith, int nth);

// Called by one thread: runs on its own team of min(n_threads, max_threads) threads.
void moe_matmul(const MoeMatmulArgs& args, int n_threads);

}  // namespace moecpu::kernels
