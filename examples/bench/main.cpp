// moe-bench: benchmarks for moecpu.
//   --kernels   memory bandwidth, then matvec / matmul per weight format on DeepSeek-V3 shapes.
//   -m MODEL    prompt processing and generation tokens/s, weight bytes per token, GB/s and
//               the fraction of the measured memory bandwidth.
//   --bandwidth the memory read bandwidth alone (scripts measure it next to other tools' runs).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include <omp.h>

#include <cxxopts.hpp>

#include "examples/bench/bandwidth.h"
#include "examples/bench/kernel_bench.h"
#include "examples/bench/model_bench.h"
#include "quant/type_traits.h"

namespace {

bool parse_formats(const std::string& list, std::vector<moecpu::GgmlType>* out) {
    std::stringstream ss(list);
    std::string name;
    while (std::getline(ss, name, ',')) {
        if (name.empty()) continue;
        moecpu::GgmlType t;
        if (!moecpu::type_from_name(name, &t)) {
            std::fprintf(stderr, "moe-bench: unknown format '%s'\n", name.c_str());
            return false;
        }
        out->push_back(t);
    }
    return true;
}

int run_kernels_mode(const cxxopts::ParseResult& args) {
    moecpu::bench::KernelBenchOptions opt;
    opt.threads = args["threads"].as<int>();
    opt.quick = args.count("quick") > 0;
    if (args.count("formats") && !parse_formats(args["formats"].as<std::string>(), &opt.formats)) return 2;
    if (args.count("shapes")) {
        std::stringstream ss(args["shapes"].as<std::string>());
        std::string v;
        while (std::getline(ss, v, ','))
            if (!v.empty()) opt.shapes.push_back(v);
    }
    if (args.count("batch")) {
        std::stringstream ss(args["batch"].as<std::string>());
        std::string v;
        while (std::getline(ss, v, ',')) {
            const int n = v.empty() ? 0 : std::atoi(v.c_str());
            if (n < 1) {
                std::fprintf(stderr, "moe-bench: bad --batch value '%s'\n", v.c_str());
                return 2;
            }
            opt.ns.push_back(n);
        }
    }
    opt.weight_set_bytes = size_t(args["set-mib"].as<double>() * double(1 << 20));
    const bool json = args.count("json") > 0;
    const auto report = moecpu::bench::run_kernel_bench(opt, !json);
    if (json) std::cout << moecpu::bench::kernel_report_json(report) << "\n";
    return 0;
}

int run_model_mode(const cxxopts::ParseResult& args) {
    moecpu::bench::ModelBenchOptions opt;
    opt.model_path = args["model"].as<std::string>();
    opt.n_prompt = args["n-prompt"].as<int>();
    opt.n_gen = args["n-gen"].as<int>();
    opt.reps = args["repetitions"].as<int>();
    opt.threads = args["threads"].as<int>();
    opt.threads_batch = args["threads-batch"].as<int>();
    opt.use_mmap = args.count("no-mmap") == 0;
    opt.prefetch_experts = args.count("no-prefetch") == 0;
    opt.n_depth = args["n-depth"].as<int>();
    if (args.count("tokens")) {
        std::stringstream ss(args["tokens"].as<std::string>());
        std::string v;
        while (std::getline(ss, v, ','))
            if (!v.empty()) opt.tokens.push_back(int32_t(std::atol(v.c_str())));
    }
    if (opt.n_prompt < 0 || opt.n_gen < 0 || opt.n_depth < 0 || opt.reps < 1 || (opt.n_prompt == 0 && opt.tokens.empty() && opt.n_gen == 0)) {
        std::fprintf(stderr, "moe-bench: -p and -n must not be negative, -r at least 1, and something must run\n");
        return 2;
    }
    const bool json = args.count("json") > 0;
    try {
        const auto report = moecpu::bench::run_model_bench(opt, !json);
        if (json) std::cout << moecpu::bench::model_report_json(report) << "\n";
        else moecpu::bench::print_model_report(report);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "moe-bench: error: %s\n", e.what());
        return 1;
    }
    return 0;
}

// The host's read bandwidth moves minute to minute, so a comparison with another tool needs it
// measured right next to that tool's run.
int run_bandwidth_mode(const cxxopts::ParseResult& args) {
    int threads = args["threads"].as<int>();
    if (threads <= 0) threads = omp_get_max_threads();
    const double gbps = moecpu::bench::measure_read_bandwidth(size_t(1) << 30, threads, 7).gbps;
    if (args.count("json")) std::printf("{\"threads\": %d, \"read_bandwidth_gbps\": %.3f}\n", threads, gbps);
    else std::printf("memory read bandwidth: %.2f GB/s (%d threads, 1 GiB buffer, median of 7)\n", gbps, threads);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    cxxopts::Options options("moe-bench", "Benchmarks for moecpu: whole models (-m) or kernels (--kernels).");
    options.add_options()
        ("m,model", "Model benchmark on this GGUF file", cxxopts::value<std::string>())
        ("p,n-prompt", "Model: prompt tokens to process", cxxopts::value<int>()->default_value("64"))
        ("n,n-gen", "Model: tokens to generate (0: prompt only)", cxxopts::value<int>()->default_value("16"))
        ("r,repetitions", "Model: repetitions (the median is reported)", cxxopts::value<int>()->default_value("3"))
        ("threads-batch", "Model: threads for prompt processing (0 = --threads)", cxxopts::value<int>()->default_value("0"))
        ("tokens", "Model: the prompt as token ids (e.g. 0,648,893) instead of synthetic ones", cxxopts::value<std::string>())
        ("no-mmap", "Model: read the file into memory instead of mapping it")
        ("no-prefetch", "Model: do not ask the OS to read the chosen experts ahead (MADV_WILLNEED)")
        ("d,n-depth", "Model: tokens already in the context when each test starts (as llama-bench -d)",
         cxxopts::value<int>()->default_value("0"))
        ("kernels", "Kernel benchmark: memory read bandwidth, then matvec (n=1) and matmul (n=8,64,512) "
                    "per weight format on DeepSeek-V3 expert shapes and a large dense shape")
        ("bandwidth", "Measure the memory read bandwidth only (1 GiB buffer, --threads threads)")
        ("t,threads", "Threads (0 = all hardware threads)", cxxopts::value<int>()->default_value("0"))
        ("formats", "Comma-separated weight formats, e.g. q4_k,q2_k,q8_0 (default: all supported)",
         cxxopts::value<std::string>())
        ("shapes", "Comma-separated shapes: ffn_gate_up_exps (2048x7168), ffn_down_exps (7168x2048), "
                   "ffn_up_dense (18432x7168); default all",
         cxxopts::value<std::string>())
        ("batch", "Comma-separated activation column counts (default 1,8,64,512; quick: 1,8)",
         cxxopts::value<std::string>())
        ("set-mib", "Size of the weight set cycled over, MiB (0 = 512, quick: 8); a set smaller "
                    "than the caches measures compute speed instead of streaming",
         cxxopts::value<double>()->default_value("0"))
        ("json", "Print a JSON array with one object per measurement instead of text")
        ("quick", "Tiny sizes and few repetitions (a few seconds; for CI smoke tests)")
        ("h,help", "Show this help");

    cxxopts::ParseResult args;
    try {
        args = options.parse(argc, argv);
    } catch (const cxxopts::exceptions::exception& e) {
        std::fprintf(stderr, "moe-bench: %s\n%s", e.what(), options.help().c_str());
        return 2;
    }
    if (args.count("help")) {
        std::cout << options.help();
        return 0;
    }
    if (args.count("bandwidth")) return run_bandwidth_mode(args);
    if (args.count("kernels")) return run_kernels_mode(args);
    if (args.count("model")) return run_model_mode(args);
    std::fprintf(stderr, "moe-bench: choose a mode (-m MODEL, --kernels or --bandwidth)\n%s", options.help().c_str());
    return 2;
}
