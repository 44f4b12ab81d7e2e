// moe-quantize: converts a Hugging Face DeepSeek-V2/V3/R1 checkpoint (BF16 or FP8 safetensors),
// or requantizes an existing GGUF, into a GGUF file (architecture deepseek2) that moecpu and
// llama.cpp load, with per-tensor types from a single type, a preset or regex overrides.
//
//   moe-quantize --in DeepSeek-V3/ --out ds3-q4_k_m.gguf --type Q4_K_M
//   moe-quantize --in ds3-bf16.gguf --out ds3-moe-q2.gguf --type MOE_Q2_K --imatrix imatrix.gguf
#include <omp.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>

#include <cxxopts.hpp>

#include "examples/quantize/gguf_requantize.h"
#include "examples/quantize/hf_to_gguf.h"
#include "examples/quantize/importance_matrix.h"
#include "examples/quantize/quant_presets.h"
#include "examples/quantize/tensor_type_policy.h"
#include "examples/quantize/type_overrides.h"
#include "lib/src/error.h"

int main(int argc, char** argv) {
    namespace cv = moecpu::convert;
    cxxopts::Options opts("moe-quantize",
                          "Convert a Hugging Face DeepSeek-V2/V3/R1 checkpoint, or requantize a GGUF, to GGUF (deepseek2).");
    opts.add_options()
        ("i,in", "input: Hugging Face model directory (config.json, tokenizer.json, *.safetensors) or a .gguf file",
         cxxopts::value<std::string>())
        ("o,out", "output .gguf file (written only when everything succeeds)", cxxopts::value<std::string>())
        ("t,type", "single type (f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_k q3_k q4_k q5_k q6_k) or preset (" +
                       cv::preset_names() + ")",
         cxxopts::value<std::string>()->default_value("bf16"))
        ("tensor-type", "PATTERN=TYPE: tensors whose name matches the regex get TYPE (repeatable, first match wins)",
         cxxopts::value<std::vector<std::string>>())
        ("imatrix", "importance matrix (llama.cpp GGUF or .dat layout) for every quantized tensor",
         cxxopts::value<std::string>())
        ("allow-requantize", "allow re-encoding an already-quantized GGUF tensor into another quantized type")
        ("dry-run", "print the plan (tensor, shape, type, bytes) and totals; write nothing")
        ("threads", "threads (default: all cores)", cxxopts::value<int>()->default_value("0"))
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
        const bool dry_run = args.count("dry-run") != 0;
        if (!args.count("in") || (!args.count("out") && !dry_run)) {
            std::cerr << "moe-quantize: --in and --out are required (see --help)\n";
            return 2;
        }
        if (args["threads"].as<int>() > 0) omp_set_num_threads(args["threads"].as<int>());
        std::unique_ptr<cv::TensorTypePolicy> policy = cv::make_type_policy(args["type"].as<std::string>());
        if (args.count("tensor-type")) {
            std::vector<cv::TypeOverride> overrides;
            for (const std::string& a : args["tensor-type"].as<std::vector<std::string>>())
                overrides.push_back(cv::parse_type_override(a));
            policy = std::make_unique<cv::OverridePolicy>(std::move(policy), std::move(overrides));
        }
        std::unique_ptr<cv::ImportanceMatrix> imatrix;
        cv::ImportanceFn importance;
        if (args.count("imatrix")) {
            imatrix = std::make_unique<cv::ImportanceMatrix>(cv::read_importance_matrix(args["imatrix"].as<std::string>()));
            std::fprintf(stderr, "moe-quantize: importance matrix '%s': %zu tensors\n",
                         args["imatrix"].as<std::string>().c_str(), imatrix->entries.size());
            importance = [m = imatrix.get()](const std::string& name, int64_t expert, int64_t n) { return m->weights(name, expert, n); };
        }
        const std::string in = args["in"].as<std::string>();
        const std::string out = args.count("out") ? args["out"].as<std::string>() : std::string();
        const bool show_progress = args.count("no-progress") == 0;
        if (std::filesystem::is_regular_file(in)) {
            cv::RequantizeOptions o;
            o.input_path = in;
            o.output_path = out;
            o.allow_requantize = args.count("allow-requantize") != 0;
            o.dry_run = dry_run;
            o.show_progress = show_progress;
            if (dry_run) o.log = stdout;  // the plan is the output
            o.importance = importance;
            cv::requantize_gguf(o, *policy);
        } else {
            cv::ConvertOptions o;
            o.input_dir = in;
            o.output_path = out;
            o.model_name = args["name"].as<std::string>();
            o.tokenizer_pre = args["tokenizer-pre"].as<std::string>();
            o.show_progress = show_progress;
            o.dry_run = dry_run;
            if (dry_run) o.log = stdout;  // the plan is the output
            o.importance = importance;
            cv::convert_hf_to_gguf(o, *policy);
        }
        return 0;
    } catch (const cxxopts::exceptions::exception& e) {
        std::cerr << "moe-quantize: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "moe-quantize: error: " << e.what() << "\n";
        return 1;
    }
}
