// Dense matmul driver for any weight type: y[n_tokens][n_rows] = W[n_rows][k] · x[n_tokens][k]^T.
// Activations are converted once into the weight type's activation format (act_format.h) in a
// caller-planned work buffer; then the (row chunk × column chunk) tiles, kTileRows rows each, go
// to the table's mat_tile: split statically by the phase functions, taken from a guided queue
// (work_queue.h) by matmul()'s own team. Nothing is allocated per call.
// matvec is the n_tokens = 1 case.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/kernel_table.h"

namespace moecpu::kernels {

struct MatmulArgs {
    GgmlType w_type = GgmlType::F32;
    const void* w = nullptr;  // [n_rows][k] rows of w_type, w_row_bytes apart
    size_t w_row_bytes = 0;
    int64_t n_rows = 0;
    int64_t k = 0;
    const float* x = nullptr;  // [n_tokens][k] f32, rows x_stride floats apart
    int64_t x_stride = 0;
    int64_t n_tokens = 0;
    float* y = nullptr;  // [n_tokens][n_rows], rows y_stride floats apart
    int64_t y_stride = 0;
    void* work = nullptr;                // matmul_work_size() bytes, or null when that is 0
    const KernelTable* table = nullptr;  // null: active()
};

// Bytes of work buffer a matmul needs (0 for float weights: f32 activations are read in place).
size_t matmul_work_size(GgmlType w_type, int64_t k, int64_t n_tokens);

// The two phases, for a thread pool that brings its own barrier: every thread ith of nth calls
// matmul_quantize, all wait, then every thread calls matmul_compute.
void matmul_quantize(const MatmulArgs& args, int ith, int nth);
void matmul_compute(const MatmulArgs& args, int ith, int nth);

// Both phases with an OpenMP barrier between (none when nth = 1): call from every thread of the innermost
// `#pragma omp parallel` team (ith = omp_get_thread_num(), nth = omp_get_num_threads()), or
// from a single thread with ith = 0, nth = 1.
void matmul_thread(const MatmulArgs& args, int ith, int nth);

// Called by one thread: runs the whole matmul on its own team of n_threads (a nested team
// inside an existing parallel region, which OpenMP may shrink to one thread).
void matmul(const MatmulArgs& args, int n_threads);

}  // namespace moecpu::kernels
