// y = W · x for a batch of activation rows, W in any supported weight format, read in place.
// The single adaptation point between the model code and cpu-kernels' matmul driver.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/matmul.h"
#include "lib/src/weight_view.h"

namespace moecpu {

// Scratch planned once per context: activation rows converted to the weight's dot-product type.
struct LinearScratch {
    uint8_t* act = nullptr;
    size_t act_bytes = 0;
};

// Bytes of scratch a linear over k columns and n_tokens rows needs (any weight type).
size_t linear_scratch_bytes(int64_t k, int64_t n_tokens);

// The matmul driver's arguments for y = w · x (layouts as for linear below); work: the
// activation scratch, kernels::matmul_work_size() bytes.
kernels::MatmulArgs matmul_args(const WeightView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                                int64_t y_stride, void* work);

// x: [n_tokens][x_stride] floats (first w.cols used); y: [n_tokens][y_stride] floats (first w.rows set).
void linear(const WeightView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, const LinearScratch& scratch, int n_threads);

}  // namespace moecpu
