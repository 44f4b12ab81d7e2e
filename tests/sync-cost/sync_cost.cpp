// Measures what thread synchronisation costs here, in microseconds: opening an OpenMP parallel
// region (workers still spinning, and after a pause long enough for them to sleep), an OpenMP
// barrier, and the alternatives a small own pool would use (a sense-reversing spin barrier,
// waking spinning workers through a generation counter). Run it the way the benchmarks run:
//   flock /tmp/moecpu-bench.lock chrt -f 10 build/tests/sync-cost/moecpu-sync-cost [threads]
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double micros(Clock::time_point t0, Clock::time_point t1) { return std::chrono::duration<double, std::micro>(t1 - t0).count(); }

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Busy work standing in for the serial code between two regions.
void spin_for(double us) {
    const Clock::time_point t0 = Clock::now();
    while (micros(t0, Clock::now()) < us) cpu_relax();
}

std::atomic<int> g_sink{0};

// Each thread flips its own sense; the last to arrive resets the count and publishes the sense.
class SpinBarrier {
public:
    explicit SpinBarrier(int n) : n_(n) {}
    void wait(int& sense) {
        sense ^= 1;
        if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
            count_.store(0, std::memory_order_relaxed);
            released_.store(sense, std::memory_order_release);
        } else {
            while (released_.load(std::memory_order_acquire) != sense) cpu_relax();
        }
    }

private:
    const int n_;
    alignas(64) std::atomic<int> count_{0};
    alignas(64) std::atomic<int> released_{0};
};

double omp_region(int nth, int iters, double gap_us) {
    double total = 0;
    for (int i = 0; i < iters; ++i) {
        if (gap_us > 0) spin_for(gap_us);
        const Clock::time_point t0 = Clock::now();
#pragma omp parallel num_threads(nth)
        g_sink.fetch_add(1, std::memory_order_relaxed);
        total += micros(t0, Clock::now());
    }
    return total / iters;
}

double omp_barrier(int nth, int iters) {
    double us = 0;
#pragma omp parallel num_threads(nth)
    {
        const Clock::time_point t0 = Clock::now();
        for (int i = 0; i < iters; ++i) {
#pragma omp barrier
        }
        if (omp_get_thread_num() == 0) us = micros(t0, Clock::now()) / iters;
    }
    return us;
}

double spin_barrier(int nth, int iters) {
    SpinBarrier barrier(nth);
    double us = 0;
#pragma omp parallel num_threads(nth)
    {
        int sense = 0;
        barrier.wait(sense);
        const Clock::time_point t0 = Clock::now();
        for (int i = 0; i < iters; ++i) barrier.wait(sense);
        if (omp_get_thread_num() == 0) us = micros(t0, Clock::now()) / iters;
    }
    return us;
}

// A persistent pool of nth - 1 spinning workers: the caller bumps a generation counter, every
// worker runs the (empty) task and counts itself done; the caller waits for all of them.
double spin_pool_dispatch(int nth, int iters) {
    alignas(64) std::atomic<int> generation{0};
    alignas(64) std::atomic<int> done{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int w = 1; w < nth; ++w)
        workers.emplace_back([&] {
            int seen = 0;
            for (;;) {
                int g;
                while ((g = generation.load(std::memory_order_acquire)) == seen) {
                    if (stop.load(std::memory_order_relaxed)) return;
                    cpu_relax();
                }
                seen = g;
                g_sink.fetch_add(1, std::memory_order_relaxed);
                done.fetch_add(1, std::memory_order_acq_rel);
            }
        });
    const Clock::time_point t0 = Clock::now();
    for (int i = 1; i <= iters; ++i) {
        generation.store(i, std::memory_order_release);
        g_sink.fetch_add(1, std::memory_order_relaxed);
        while (done.load(std::memory_order_acquire) != i * (nth - 1)) cpu_relax();
    }
    const double us = micros(t0, Clock::now()) / iters;
    stop.store(true);
    for (std::thread& t : workers) t.join();
    return us;
}

double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const int nth = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2;
    constexpr int kIters = 100000, kReps = 5;
    std::printf("threads: %d, median of %d runs; microseconds per operation\n", nth, kReps);
    auto report = [&](const char* what, auto&& measure) {
        std::vector<double> runs;
        for (int r = 0; r < kReps; ++r) runs.push_back(measure());
        std::printf("  %-58s %9.3f\n", what, median_of(runs));
    };
    omp_region(nth, 1000, 0);  // team start-up
    report("OpenMP region, back to back", [&] { return omp_region(nth, kIters, 0); });
    report("OpenMP region after 100 us of serial work", [&] { return omp_region(nth, 2000, 100); });
    report("OpenMP region after 1 ms of serial work", [&] { return omp_region(nth, 200, 1000); });
    report("OpenMP region after 10 ms of serial work (workers asleep)", [&] { return omp_region(nth, 20, 10000); });
    report("OpenMP barrier", [&] { return omp_barrier(nth, kIters); });
    report("spin barrier (sense-reversing, atomic counter)", [&] { return spin_barrier(nth, kIters); });
    report("spinning pool: wake workers + wait for them", [&] { return spin_pool_dispatch(nth, kIters); });
    return g_sink.load() == -1;
}
