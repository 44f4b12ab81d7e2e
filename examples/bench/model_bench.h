// moe-bench -m MODEL: prompt-processing and generation speed of a whole model, with the
// weight bytes one generated token reads and how close that comes to the memory bandwidth.
// The two tests are independent, as llama-bench's pp and tg: each starts from a context holding
// only the n_depth tokens (none by default), so the numbers compare with llama-bench -p/-n/-d.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace moecpu::bench {

struct ModelBenchOptions {
    std::string model_path;
    int n_prompt = 64;          // -p: prompt tokens (synthetic ids unless tokens is set)
    int n_gen = 16;             // -n: generated tokens (0: prompt only)
    int n_depth = 0;            // -d: tokens already in the context before each test (as llama-bench -d)
    int reps = 3;               // medians over this many repetitions
    int threads = 0, threads_batch = 0;
    std::vector<int32_t> tokens;  // --tokens: the prompt, instead of synthetic ids
    bool use_mmap = true;
    bool prefetch_experts = true;
};

struct ModelBenchReport {
    std::string model_desc;
    int n_prompt = 0, n_gen = 0, n_depth = 0, reps = 0, threads = 0;
    double pp_tokens_per_s = 0, tg_tokens_per_s = 0;
    uint64_t weight_bytes_per_token = 0;
    double bandwidth_gbps = 0;  // measured read bandwidth with the same thread count
    double gbps = 0, bw_fraction = 0;
    uint64_t peak_rss_bytes = 0;  // of the process after the tests, before the bandwidth buffer
    uint64_t mapped_resident_bytes = 0, mapped_huge_bytes = 0;  // the model file's mapping (huge_pages.h)
};

ModelBenchReport run_model_bench(const ModelBenchOptions& options, bool print_progress);
void print_model_report(const ModelBenchReport& r);
std::string model_report_json(const ModelBenchReport& r);

}  // namespace moecpu::bench
