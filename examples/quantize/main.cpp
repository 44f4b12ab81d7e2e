// moe-quantize: converts a Hugging Face DeepSeek-V2/V3/R1 checkpoint (BF16 or FP8 safetensors)
// into a GGUF file (architecture deepseek2) that moecpu and llama.cpp load.
//
//   moe-quantize --in DeepSeek-V3/ --out ds3-q8_0.gguf --type q8_0
#include <cstdio>
#include <exception>
#include <iostream>

#include <cxxopts.hpp>

#include "examples/quantize/hf_to_gguf.h"
#include "examples/quantize/tensor_type_policy.h"
#include "lib/src/error.h"

int main(int argc, char** argv) {
    cxxopts::Options opts("moe-quantize", "Convert a Hugging Face DeepSeek-V2/V3/R1 checkpoint to GGUF (deepseek2).");
    opts.add_options()
        ("i,in", "input: Hugging Face model directory (config.json, tokenizer.json, *.safetensors)", cxxopts::value<std::string>())
        ("o,out", "output .gguf file (written only when the conversion succeeds)", cxxopts::value<std::string>())
        ("t,type", "tensor type: f32, f16, bf16, q8_0 (norms, router and biases stay f32)",
         cxxopts::value<std::string>()->default_value("bf16"))
        ("name", "general.name (default: the input directory's name)", cxxopts::value<std::string>()->default_value(""))
        ("tokenizer-pre", "tokenizer.ggml.pre to write when tokenizer.json's pre-tokenizer is not recognised",
         cxxopts::value<std::string>()->default_value(""))
        ("no-progress", "no progress line on stderr")
        ("h,help", "show this help");

    try {
        const auto args = opts.parse(argc, argv);
        if (args.count("help")) {
            std::cout << opts.help() << "\n";
            return 0;
        }
        if (!args.count("in") || !args.count("out")) {
            std::cerr << "moe-quantize: --in and --out are required (see --help)\n";
            return 2;
        }
        moecpu::convert::ConvertOptions o;
        o.input_dir = args["in"].as<std::string>();
        o.output_path = args["out"].as<std::string>();
        o.model_name = args["name"].as<std::string>();
        o.tokenizer_pre = args["tokenizer-pre"].as<std::string>();
        o.show_progress = args.count("no-progress") == 0;
        const auto policy = moecpu::convert::make_type_policy(args["type"].as<std::string>());
        moecpu::convert::convert_hf_to_gguf(o, *policy);
        return 0;
    } catch (const cxxopts::exceptions::exception& e) {
        std::cerr << "moe-quantize: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "moe-quantize: error: " << e.what() << "\n";
        return 1;
    }
}
