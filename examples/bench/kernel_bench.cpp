#include "examples/bench/kernel_bench.h"

#include <omp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "cpu-kernels/dispatch.h"
#include "examples/bench/bench_matmul.h"
#include "examples/bench/bench_timer.h"
#include "quant/type_traits.h"

namespace moecpu::bench {
namespace {

struct Shape {
    const char* name;
    int64_t rows, cols;  // weight [rows, cols]; cols is the dot-product length k
};

// DeepSeek-V3 / R1: routed-expert projections and the dense FFN of the first layers.
constexpr Shape kFullShapes[] = {
    {"ffn_gate_up_exps", 2048, 7168},
    {"ffn_down_exps", 7168, 2048},
    {"ffn_up_dense", 18432, 7168},
};
constexpr Shape kQuickShapes[] = {
    {"quick_gate_up", 256, 2048},
    {"quick_down", 2048, 256},
};

constexpr GgmlType kAllFormats[] = {
    GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
    GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
    GgmlType::F16,  GgmlType::BF16, GgmlType::F32,
};

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

struct Timing {
    // Each call is timed alone; calls continue until both minimums are met (or max_calls).
    double min_seconds;
    int min_calls, max_calls;
};

// A set of identical weight matrices, together larger than the last-level cache, cycled over
// call by call so every call streams its weights from memory.
class WeightSet {
public:
    WeightSet(GgmlType type, int64_t rows, int64_t cols, size_t min_set_bytes, int threads)
        : matrix_bytes_(row_size(type, cols) * size_t(rows)) {
        copies_ = int(std::max<size_t>(1, (min_set_bytes + matrix_bytes_ - 1) / matrix_bytes_));
        data_.reset(new uint8_t[matrix_bytes_ * copies_]);
        // A few rows quantized from random floats (valid blocks with sane fp16 scales), repeated.
        const int64_t seed_rows = std::min<int64_t>(rows, 16);
        std::mt19937 rng(1234);
        std::normal_distribution<float> dist(0.f, 0.02f);
        std::vector<float> f(size_t(seed_rows * cols));
        for (float& x : f) x = dist(rng);
        const size_t row_bytes = row_size(type, cols);
        std::vector<uint8_t> seed(row_bytes * seed_rows);
        traits_of(type).quantize(f.data(), seed.data(), seed_rows, cols, nullptr);
        const int64_t total_rows = rows * copies_;
        // Written by the benchmark's threads (first touch places pages near them).
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t r = 0; r < total_rows; ++r)
            std::memcpy(data_.get() + size_t(r) * row_bytes, seed.data() + size_t(r % seed_rows) * row_bytes, row_bytes);
    }
    const uint8_t* matrix(int i) const { return data_.get() + matrix_bytes_ * size_t(i % copies_); }
    int copies() const { return copies_; }
    size_t matrix_bytes() const { return matrix_bytes_; }

private:
    size_t matrix_bytes_;
    int copies_ = 1;
    std::unique_ptr<uint8_t[]> data_;
};

Measurement measure(const kernels::KernelTable& table, GgmlType type, const Shape& shape, int n,
                    const WeightSet& set, int threads, const Timing& timing) {
    std::vector<float> x(size_t(n) * shape.cols);
    std::mt19937 rng(42);
    std::normal_distribution<float> dist(0.f, 1.f);
    for (float& v : x) v = dist(rng);
    std::vector<float> out(size_t(n) * shape.rows);
    const BenchMatmul mm(table, type, shape.rows, shape.cols, n);

    // One untimed call (thread team start-up, page faults of the buffers).
    mm.run(set.matrix(set.copies() - 1), x.data(), out.data(), threads);
    std::vector<double> times;
    const double start = now_seconds();
    for (int call = 0; call < timing.max_calls; ++call) {
        const double t0 = now_seconds();
        mm.run(set.matrix(call), x.data(), out.data(), threads);
        const double t1 = now_seconds();
        times.push_back(t1 - t0);
        if (call + 1 >= timing.min_calls && t1 - start >= timing.min_seconds) break;
    }

    Measurement m;
    m.format = lower(traits_of(type).name);
    m.shape = shape.name;
    m.n = n;
    m.rows = shape.rows;
    m.cols = shape.cols;
    m.calls = int(times.size());
    m.seconds = median(times);
    m.weight_bytes = set.matrix_bytes();
    m.weight_set_bytes = set.matrix_bytes() * size_t(set.copies());
    m.gbps = double(m.weight_bytes) / m.seconds / 1e9;
    m.gflops = n > 1 ? 2.0 * double(shape.rows) * double(shape.cols) * n / m.seconds / 1e9 : 0.0;
    m.tokens_per_s = n / m.seconds;
    return m;
}

void print_measurement(const Measurement& m) {
    std::printf("%-6s %-18s %6lld x %-6lld n=%-4d %9.3f ms %8.2f GB/s %6.1f%% bw %8.1f GFLOP/s %10.1f tok/s\n",
                m.format.c_str(), m.shape.c_str(), static_cast<long long>(m.rows), static_cast<long long>(m.cols), m.n,
                m.seconds * 1e3, m.gbps, 100.0 * m.bw_fraction, m.gflops, m.tokens_per_s);
    std::fflush(stdout);
}

}  // namespace

KernelBenchReport run_kernel_bench(const KernelBenchOptions& opt, bool print_progress) {
    KernelBenchReport report;
    const kernels::KernelTable& table = kernels::active();
    report.isa = table.name;
    report.threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
    const int threads = report.threads;

    // Bandwidth: 1 GiB (quick: 128 MiB), well past any last-level cache.
    const size_t bw_bytes = opt.quick ? (size_t(128) << 20) : (size_t(1) << 30);
    const int bw_reps = opt.quick ? 2 : 15;
    report.bandwidth_1 = measure_read_bandwidth(bw_bytes, 1, bw_reps);
    report.bandwidth_n = threads == 1 ? report.bandwidth_1 : measure_read_bandwidth(bw_bytes, threads, bw_reps);
    if (print_progress) {
        std::printf("kernels: %s, %d thread%s\n", report.isa.c_str(), threads, threads == 1 ? "" : "s");
        std::printf("memory read bandwidth (%zu MiB buffer, median of %d): %.2f GB/s with 1 thread, %.2f GB/s with %d\n",
                    bw_bytes >> 20, bw_reps, report.bandwidth_1.gbps, report.bandwidth_n.gbps, threads);
        std::printf("%-6s %-18s %15s %-6s %12s %13s %9s %17s %16s\n", "format", "shape", "rows x cols", "n",
                    "time/call", "weights", "of bw", "compute", "throughput");
        std::fflush(stdout);
    }

    std::vector<Shape> shapes;
    for (const Shape& s : opt.quick ? std::vector<Shape>(std::begin(kQuickShapes), std::end(kQuickShapes))
                                    : std::vector<Shape>(std::begin(kFullShapes), std::end(kFullShapes)))
        if (opt.shapes.empty() || std::find(opt.shapes.begin(), opt.shapes.end(), s.name) != opt.shapes.end())
            shapes.push_back(s);
    std::vector<int> ns = opt.quick ? std::vector<int>{1, 8} : std::vector<int>{1, 8, 64, 512};
    if (!opt.ns.empty()) ns = opt.ns;
    // Weight sets of 512 MiB (quick: 8 MiB, only a smoke test) are far larger than L3.
    size_t set_bytes = opt.quick ? (size_t(8) << 20) : (size_t(512) << 20);
    if (opt.weight_set_bytes) set_bytes = opt.weight_set_bytes;
    std::vector<GgmlType> formats = opt.formats;
    if (formats.empty()) formats.assign(std::begin(kAllFormats), std::end(kAllFormats));

    for (GgmlType type : formats) {
        for (const Shape& shape : shapes) {
            const WeightSet set(type, shape.rows, shape.cols, set_bytes, threads);
            for (int n : ns) {
                Timing timing;
                timing.min_seconds = opt.quick ? 0.0 : 0.4;
                timing.min_calls = opt.quick ? 2 : (n == 1 ? std::max(5, 2 * set.copies()) : 3);
                timing.max_calls = opt.quick ? 2 : 1000;
                Measurement m = measure(table, type, shape, n, set, threads, timing);
                m.bw_fraction = m.gbps / report.bandwidth_n.gbps;
                if (print_progress) print_measurement(m);
                report.results.push_back(m);
            }
        }
    }
    return report;
}

std::string kernel_report_json(const KernelBenchReport& report) {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const Measurement& m : report.results) {
        nlohmann::ordered_json o;
        o["format"] = m.format;
        o["n"] = m.n;
        o["rows"] = m.rows;
        o["cols"] = m.cols;
        o["gbps"] = m.gbps;
        o["bw_fraction"] = m.bw_fraction;
        o["gflops"] = m.gflops;
        o["shape"] = m.shape;
        o["seconds"] = m.seconds;
        o["calls"] = m.calls;
        o["tokens_per_s"] = m.tokens_per_s;
        o["weight_bytes"] = m.weight_bytes;
        o["weight_set_bytes"] = m.weight_set_bytes;
        o["isa"] = report.isa;
        o["threads"] = report.threads;
        o["bandwidth_gbps"] = report.bandwidth_n.gbps;
        o["bandwidth_1thread_gbps"] = report.bandwidth_1.gbps;
        arr.push_back(o);
    }
    return arr.dump(2);
}

}  // namespace moecpu::bench
