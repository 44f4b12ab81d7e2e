// Per-head products of MLA's absorbed form (q_nope through k_b, latents through v_b) for all heads
// in ONE parallel region: a decode step otherwise opens 2 x n_head regions per layer (256 on
// DeepSeek-V3), and each fork/join costs microseconds. Heads too small to be worth a region
// (cpu-kernels/fork_threshold.h) run on the calling thread.
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/src/weight_view.h"

namespace moecpu {

struct HeadProducts {
    WeightView w;              // n_mat = heads, each [rows][cols]
    const float* x = nullptr;  // head h's input rows start at x + h * x_head_offset, x_stride apart
    int64_t x_stride = 0, x_head_offset = 0;
    float* y = nullptr;        // head h's output rows start at y + h * y_head_offset, y_stride apart
    int64_t y_stride = 0, y_head_offset = 0;
    int64_t n_tokens = 0;
    uint8_t* work = nullptr;   // [n_work_threads][work_bytes_per_thread] activation scratch
    size_t work_bytes_per_thread = 0;
    int n_work_threads = 1;
};

// False (nothing done) when a thread's work buffer is too small for this product.
bool run_head_products(const HeadProducts& p, int n_threads);

}  // namespace moecpu
