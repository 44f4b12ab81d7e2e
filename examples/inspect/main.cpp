// moe-inspect FILE.gguf [--json] [--cpu]: what is inside a GGUF file, and which kernels this CPU gets.
#include <cstdio>
#include <iostream>

#include <cxxopts.hpp>

#include "examples/inspect/inspect.h"
#include "lib/src/error.h"

int main(int argc, char** argv) {
    cxxopts::Options options("moe-inspect", "Print a GGUF file's header, metadata and tensor table.");
    options.positional_help("FILE.gguf");
    options.add_options()
        ("json", "Print one JSON object instead of text")
        ("cpu", "Also print the detected CPU features and the kernel set chosen (FILE optional)")
        ("max-array", "Array elements shown before summarising (0 = all)",
         cxxopts::value<size_t>()->default_value("8"))
        ("h,help", "Show this help")
        ("file", "GGUF file to inspect", cxxopts::value<std::string>());
    options.parse_positional({"file"});

    cxxopts::ParseResult args;
    try {
        args = options.parse(argc, argv);
    } catch (const cxxopts::exceptions::exception& e) {
        std::fprintf(stderr, "moe-inspect: %s\n%s", e.what(), options.help().c_str());
        return 2;
    }
    if (args.count("help")) {
        std::cout << options.help();
        return 0;
    }
    const bool json = args.count("json") > 0;
    const bool cpu = args.count("cpu") > 0;
    if (!args.count("file") && !cpu) {
        std::fprintf(stderr, "moe-inspect: no input file\n%s", options.help().c_str());
        return 2;
    }

    moecpu::inspect::ReportOptions opt;
    opt.max_array = args["max-array"].as<size_t>();
    try {
        nlohmann::ordered_json out = nlohmann::ordered_json::object();
        if (args.count("file")) {
            const auto reader = moecpu::gguf::Reader::open(args["file"].as<std::string>());
            if (json) {
                out = moecpu::inspect::report_json(*reader, opt);
            } else {
                moecpu::inspect::print_text(*reader, opt, std::cout);
            }
        }
        if (cpu) {
            if (json) {
                out["cpu"] = moecpu::inspect::cpu_json();
            } else {
                std::cout << (args.count("file") ? "\n" : "") << moecpu::inspect::cpu_text();
            }
        }
        // Metadata strings are not guaranteed UTF-8; replace bad bytes rather than fail.
        if (json) std::cout << out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    } catch (const moecpu::Error& e) {
        std::fprintf(stderr, "moe-inspect: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "moe-inspect: %s\n", e.what());
        return 1;
    }
    std::cout.flush();
    return std::cout ? 0 : 1;
}
