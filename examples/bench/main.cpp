// moe-bench: benchmarks for moecpu.
//   --kernels   memory bandwidth, then matvec / matmul per weight format on DeepSeek-V3 shapes.
// (A model benchmark, -m MODEL, is a separate mode to be added next to this one.)
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include <cxxopts.hpp>

#include "examples/bench/kernel_bench.h"
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

}  // namespace

int main(int argc, char** argv) {
    cxxopts::Options options("moe-bench", "Benchmarks for moecpu kernels.");
    options.add_options()
        ("kernels", "Kernel benchmark: memory read bandwidth, then matvec (n=1) and matmul (n=8,64,512) "
                    "per weight format on DeepSeek-V3 expert shapes and a large dense shape")
        ("t,threads", "Threads (0 = all hardware threads)", cxxopts::value<int>()->default_value("0"))
        ("formats", "Comma-separated weight formats, e.g. q4_k,q2_k,q8_0 (default: all supported)",
         cxxopts::value<std::string>())
        ("shapes", "Comma-separated shapes: ffn_gate_up_exps (2048x7168), ffn_down_exps (7168x2048), "
                   "ffn_up_dense (18432x7168); default all",
         cxxopts::value<std::string>())
        ("n,batch", "Comma-separated activation column counts (default 1,8,64,512; quick: 1,8)",
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
    if (args.count("kernels")) return run_kernels_mode(args);
    std::fprintf(stderr, "moe-bench: choose a mode (--kernels)\n%s", options.help().c_str());
    return 2;
}
