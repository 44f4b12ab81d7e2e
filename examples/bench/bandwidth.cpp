#include "examples/bench/bandwidth.h"

#include <omp.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "examples/bench/bench_timer.h"

namespace moecpu::bench {
namespace {

// Sum of 64-bit words with independent accumulators so the loop is bound by memory, not by
// the add latency (the compiler vectorizes it with the baseline ISA).
uint64_t read_slice(const uint64_t* p, size_t n) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3];
        s4 += p[i + 4]; s5 += p[i + 5]; s6 += p[i + 6]; s7 += p[i + 7];
    }
    for (; i < n; ++i) s0 += p[i];
    return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

}  // namespace

BandwidthResult measure_read_bandwidth(size_t buffer_bytes, int threads, int reps) {
    const size_t words = buffer_bytes / sizeof(uint64_t);
    std::unique_ptr<uint64_t[]> buf(new uint64_t[words]);
    // Written by the threads that read it, with non-zero data so every page is really mapped.
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < words; ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;

    std::vector<double> gbps;
    volatile uint64_t sink = 0;
    for (int r = 0; r < reps; ++r) {
        uint64_t total = 0;
        const double t0 = now_seconds();
#pragma omp parallel num_threads(threads) reduction(+ : total)
        {
            const int nt = omp_get_num_threads(), id = omp_get_thread_num();
            const size_t per = (words + nt - 1) / nt;
            const size_t begin = std::min(words, per * id), end = std::min(words, begin + per);
            total += read_slice(buf.get() + begin, end - begin);
        }
        const double dt = now_seconds() - t0;
        sink = sink + total;
        gbps.push_back(double(words * sizeof(uint64_t)) / dt / 1e9);
    }
    (void)sink;
    return {threads, words * sizeof(uint64_t), median(gbps)};
}

}  // namespace moecpu::bench
