// The matmul call the kernel benchmark times, through the library's driver
// (cpu-kernels/matmul.h): f32 activations [n, k] are quantized to the weight type's activation
// format, then weights [rows, k] × activations → out [n, rows]. Work buffers are made once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "cpu-kernels/kernel_table.h"

namespace moecpu::bench {

class BenchMatmul {
public:
    BenchMatmul(const kernels::KernelTable& table, GgmlType type, int64_t rows, int64_t k, int n);
    // One call on `threads` threads with weights `w` and activations `x` [n, k] → out [n, rows].
    void run(const void* w, const float* x, float* out, int threads) const;

private:
    const kernels::KernelTable& table_;
    GgmlType type_;
    int64_t rows_, k_;
    int n_;
    std::unique_ptr<uint8_t[]> work_;
};

}  // namespace moecpu::bench
