// `moe-bench --kernels`: memory read bandwidth, then matvec (n = 1) and matmul (n > 1) for each
// weight format on DeepSeek-V3 shapes, over weight sets larger than the last-level cache so the
// weights really stream from memory. Uses the process-wide kernel table (MOECPU_ISA lowers it).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "examples/bench/bandwidth.h"
#include "quant/ggml_types.h"

namespace moecpu::bench {

struct KernelBenchOptions {
    int threads = 0;                 // 0: all hardware threads
    std::vector<GgmlType> formats;   // empty: every format the kernels support
    std::vector<std::string> shapes; // shape names; empty: all
    std::vector<int> ns;             // activation columns; empty: 1, 8, 64, 512
    size_t weight_set_bytes = 0;     // 0: 512 MiB (quick: 8 MiB); small values measure in-cache speed
    bool quick = false;              // tiny sizes and few repetitions (CI smoke test)
};

struct Measurement {
    std::string format;  // lower-case type name, e.g. "q4_k"
    std::string shape;   // e.g. "ffn_gate_up_exps"
    int n = 0;           // activation columns (tokens)
    int64_t rows = 0, cols = 0;
    double seconds = 0;  // median time of one call
    int calls = 0;       // calls timed
    size_t weight_bytes = 0;      // one matrix
    size_t weight_set_bytes = 0;  // all copies cycled over
    double gbps = 0;         // weight bytes streamed per second
    double bw_fraction = 0;  // gbps / measured read bandwidth (with the same thread count)
    double gflops = 0;       // 2·rows·cols·n / seconds / 1e9 (0 for n = 1)
    double tokens_per_s = 0; // n / seconds
};

struct KernelBenchReport {
    std::string isa;
    int threads = 1;
    BandwidthResult bandwidth_1;  // one thread
    BandwidthResult bandwidth_n;  // `threads` threads
    std::vector<Measurement> results;
};

// Runs everything; with `print_progress` each result is printed as a text line when measured.
KernelBenchReport run_kernel_bench(const KernelBenchOptions& opt, bool print_progress);

std::string kernel_report_json(const KernelBenchReport& report);  // a JSON array, one object per measurement

}  // namespace moecpu::bench
