// Memory read bandwidth of this machine, measured the way the kernels read weights: a
// streaming read over a buffer far larger than the last-level cache.
#pragma once
#include <cstddef>

namespace moecpu::bench {

struct BandwidthResult {
    int threads = 1;
    size_t buffer_bytes = 0;
    double gbps = 0;  // median over the repetitions, 1e9 bytes/s
};

// Reads a buffer of `buffer_bytes` `reps` times with `threads` threads (each its own slice).
BandwidthResult measure_read_bandwidth(size_t buffer_bytes, int threads, int reps);

}  // namespace moecpu::bench
