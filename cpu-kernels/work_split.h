// Static work splitting shared by the matmul drivers: contiguous, balanced ranges, no atomics.
#pragma once
#include <cstdint>

namespace moecpu::kernels {

struct Range {
    int64_t begin, end;
};

// Thread ith's share of n items: sizes differ by at most one.
inline Range split_evenly(int64_t n, int ith, int nth) { return {n * ith / nth, n * (ith + 1) / nth}; }

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Columns per chunk: at most kTileCols, chunks balanced (130 tokens → 44, 43, 43).
inline int64_t balanced_chunk(int64_t n, int64_t max_chunk) { return n <= 0 ? 1 : ceil_div(n, ceil_div(n, max_chunk)); }

}  // namespace moecpu::kernels
