// moe-imatrix: importance matrix of a GGUF model over a calibration text, for moe-quantize
// --imatrix (and llama.cpp's llama-quantize, which reads the same layouts).
//
//   moe-imatrix -m ds3-bf16.gguf -f calibration.txt -o imatrix.gguf --chunks 100 -c 512
#include <exception>
#include <iostream>

#include <cxxopts.hpp>

#include "examples/imatrix/imatrix_run.h"

int main(int argc, char** argv) {
    cxxopts::Options opts("moe-imatrix", "Mean squared matmul input activations per column (routed experts per expert).");
    opts.add_options()
        ("m,model", "model file (.gguf)", cxxopts::value<std::string>())
        ("f,file", "calibration text (UTF-8)", cxxopts::value<std::string>())
        ("o,output", "output file: GGUF imatrix layout, or the older layout when it ends in .dat",
         cxxopts::value<std::string>()->default_value("imatrix.gguf"))
        ("c,ctx-size", "tokens per chunk", cxxopts::value<int>()->default_value("512"))
        ("chunks", "maximum number of chunks (0: the whole text)", cxxopts::value<int>()->default_value("0"))
        ("t,threads", "threads (0: all cores)", cxxopts::value<int>()->default_value("0"))
        ("h,help", "show this help");
    try {
        const auto args = opts.parse(argc, argv);
        if (args.count("help")) {
            std::cout << opts.help() << "\n";
            return 0;
        }
        if (!args.count("model") || !args.count("file")) {
            std::cerr << "moe-imatrix: -m and -f are required (see --help)\n";
            return 2;
        }
        moecpu::tools::ImatrixRunOptions o;
        o.model_path = args["model"].as<std::string>();
        o.text_path = args["file"].as<std::string>();
        o.n_ctx = args["ctx-size"].as<int>();
        o.max_chunks = args["chunks"].as<int>();
        o.n_threads = args["threads"].as<int>();
        const auto m = moecpu::tools::compute_imatrix(o);
        const std::string out = args["output"].as<std::string>();
        if (out.size() > 4 && out.compare(out.size() - 4, 4, ".dat") == 0)
            moecpu::convert::write_importance_matrix_dat(out, m);
        else
            moecpu::convert::write_importance_matrix(out, m);
        std::cerr << "moe-imatrix: wrote '" << out << "' (" << m.entries.size() << " weights, " << m.chunk_count
                  << " chunks of " << m.chunk_size << " tokens)\n";
        return 0;
    } catch (const cxxopts::exceptions::exception& e) {
        std::cerr << "moe-imatrix: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "moe-imatrix: error: " << e.what() << "\n";
        return 1;
    }
}
