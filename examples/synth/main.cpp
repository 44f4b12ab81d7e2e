// moe-synth: write a synthetic DeepSeek-family GGUF (real shapes, random quantized weights) to
// benchmark and test at real scale without downloading a checkpoint.
//
//   moe-synth --arch deepseek-v3 --type q2_k --layers 8 --out /tmp/v3-8l.gguf
//   moe-synth --arch deepseek-v3 --type q4_k --layers 2 --experts 8 --n-embd 256 --expert-ff 256 --vocab 1024 --out t.gguf
#include <chrono>
#include <cstdio>
#include <iostream>

#include <cxxopts.hpp>

#include "examples/synth/synth_writer.h"
#include "quant/type_traits.h"

namespace {

double gib(uint64_t b) { return double(b) / double(1ull << 30); }

}  // namespace

int main(int argc, char** argv) {
    using namespace moecpu;
    cxxopts::Options opts("moe-synth",
                          "Write a deepseek2 GGUF with the real shapes of a named architecture and random weights "
                          "written directly in a quantized type.");
    std::string archs;
    for (const std::string& n : synth::preset_names()) archs += (archs.empty() ? "" : ", ") + n;
    opts.add_options()
        ("arch", "architecture: " + archs, cxxopts::value<std::string>()->default_value("deepseek-v3"))
        ("type", "weight type of the big tensors (q2_k, q3_k, q4_k, q5_k, q6_k, q4_0, q8_0 ...)",
         cxxopts::value<std::string>()->default_value("q2_k"))
        ("layers", "number of layers, leading dense layers included", cxxopts::value<int64_t>())
        ("experts", "routed experts per MoE layer", cxxopts::value<int64_t>())
        ("dense-layers", "leading dense layers (default: as the real model)", cxxopts::value<int64_t>())
        ("seed", "random seed", cxxopts::value<uint64_t>()->default_value("1"))
        ("o,out", "output file (written atomically)", cxxopts::value<std::string>())
        ("n-embd", "test/benchmark knob: hidden size (multiple of 256 for k-quants)", cxxopts::value<int64_t>())
        ("expert-ff", "test/benchmark knob: one expert's FFN width", cxxopts::value<int64_t>())
        ("dense-ff", "test/benchmark knob: dense FFN width", cxxopts::value<int64_t>())
        ("vocab", "test/benchmark knob: vocabulary size (>= 300)", cxxopts::value<int64_t>())
        ("heads", "test/benchmark knob: attention heads", cxxopts::value<int64_t>())
        ("q", "quiet: no progress line")
        ("h,help", "show this help");
    try {
        const auto a = opts.parse(argc, argv);
        if (a.count("help")) {
            std::cout << opts.help() << "\n";
            return 0;
        }
        if (!a.count("out")) {
            std::cerr << "moe-synth: --out FILE is required (see --help)\n";
            return 2;
        }
        synth::SynthSpec spec = synth::preset(a["arch"].as<std::string>());
        if (!type_from_name(a["type"].as<std::string>(), &spec.type)) {
            std::cerr << "moe-synth: unknown type '" << a["type"].as<std::string>() << "'\n";
            return 2;
        }
        spec.seed = a["seed"].as<uint64_t>();
        synth::SynthOverrides o;
        auto take = [&](const char* name, int64_t& dst) {
            if (a.count(name)) dst = a[name].as<int64_t>();
        };
        take("layers", o.n_layer);
        take("experts", o.n_expert);
        take("dense-layers", o.n_leading_dense);
        take("n-embd", o.n_embd);
        take("expert-ff", o.n_ff_exp);
        take("dense-ff", o.n_ff);
        take("vocab", o.n_vocab);
        take("heads", o.n_head);
        std::vector<std::string> notes;
        synth::apply_overrides(spec, o, notes);
        const bool quiet = a.count("q") > 0;
        const std::string out = a["out"].as<std::string>();

        const auto t0 = std::chrono::steady_clock::now();
        auto last = t0;
        auto progress = [&](uint64_t done, uint64_t total) {
            const auto now = std::chrono::steady_clock::now();
            if (quiet || (now - last < std::chrono::milliseconds(500) && done < total)) return;
            last = now;
            const double s = std::chrono::duration<double>(now - t0).count();
            std::fprintf(stderr, "\rmoe-synth: %.2f / %.2f GiB (%3.0f%%), %.0f MiB/s   ", gib(done), gib(total),
                         total ? 100.0 * double(done) / double(total) : 100.0, s > 0 ? double(done) / s / (1 << 20) : 0.0);
        };
        const synth::SynthSummary sum = synth::write_synth_model(spec, out, progress);
        if (!quiet) std::fputc('\n', stderr);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        notes.insert(notes.end(), sum.notes.begin(), sum.notes.end());
        for (const std::string& n : notes) std::fprintf(stderr, "moe-synth: note: %s\n", n.c_str());
        std::printf("moe-synth: wrote %s: %s-shaped, %lld layers (%lld dense), %lld experts (%lld used, %lld shared), "
                    "n_embd %lld, vocab %lld\n",
                    out.c_str(), spec.arch.c_str(), (long long)spec.n_layer, (long long)spec.n_leading_dense,
                    (long long)spec.n_expert, (long long)spec.n_expert_used, (long long)spec.n_expert_shared,
                    (long long)spec.n_embd, (long long)spec.n_vocab);
        std::printf("moe-synth: %.3f GiB in %lld tensors (routed experts %.3f GiB, %.1f%%) in %.1f s\n", gib(sum.file_bytes),
                    (long long)sum.n_tensors, gib(sum.expert_bytes),
                    sum.tensor_bytes ? 100.0 * double(sum.expert_bytes) / double(sum.tensor_bytes) : 0.0, secs);
        for (const auto& [type, bytes] : sum.bytes_by_type)
            std::printf("moe-synth:   %-6s %10.3f MiB\n", type.c_str(), double(bytes) / double(1 << 20));
        return 0;
    } catch (const cxxopts::exceptions::exception& e) {
        std::cerr << "moe-synth: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "moe-synth: error: " << e.what() << "\n";
        return 1;
    }
}
