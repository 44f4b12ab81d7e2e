// moe-cli: generate text from a GGUF model, or chat with it.
//
//   moe-cli -m model.gguf -p "The following options are supported:" -n 32 --temp 0
//   moe-cli -m model.gguf --chat
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <cxxopts.hpp>

#include "examples/cli/cli_session.h"

namespace {

std::vector<int32_t> parse_token_list(const std::string& s) {
    std::vector<int32_t> ids;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        size_t used = 0;
        const long v = std::stol(item, &used);
        if (used != item.size()) throw std::invalid_argument("--tokens: '" + item + "' is not an integer");
        ids.push_back(int32_t(v));
    }
    return ids;
}

}  // namespace

int main(int argc, char** argv) {
    cxxopts::Options opts("moe-cli", "Generate text with (or chat with) a DeepSeek-family MoE model in GGUF format.");
    moecpu::cli::CliOptions o;
    opts.add_options()
        ("m,model", "model file (.gguf)", cxxopts::value<std::string>())
        ("p,prompt", "prompt text", cxxopts::value<std::string>())
        ("f,file", "read the prompt from a file", cxxopts::value<std::string>())
        ("tokens", "prompt as raw token ids, e.g. 0,648,893", cxxopts::value<std::string>())
        ("n,n-predict", "tokens to generate (0: evaluate the prompt only)", cxxopts::value<int>()->default_value("128"))
        ("c,ctx-size", "context length in tokens", cxxopts::value<int>()->default_value("4096"))
        ("b,batch-size", "tokens per evaluation call during prompt processing", cxxopts::value<int>()->default_value("512"))
        ("t,threads", "threads for generation (0: all cores)", cxxopts::value<int>()->default_value("0"))
        ("threads-batch", "threads for prompt processing (0: same as --threads)", cxxopts::value<int>()->default_value("0"))
        ("temp", "temperature (0: greedy)", cxxopts::value<float>()->default_value("0.8"))
        ("top-k", "top-k (0: off)", cxxopts::value<int>()->default_value("40"))
        ("top-p", "top-p (1: off)", cxxopts::value<float>()->default_value("0.95"))
        ("min-p", "min-p (0: off)", cxxopts::value<float>()->default_value("0.05"))
        ("repeat-penalty", "repetition penalty (1: off)", cxxopts::value<float>()->default_value("1.0"))
        ("repeat-last-n", "tokens the repetition penalty looks back", cxxopts::value<int>()->default_value("64"))
        ("s,seed", "random seed", cxxopts::value<uint64_t>()->default_value("12648430"))
        ("chat", "interactive multi-turn chat using the model's chat template")
        ("system", "system prompt for --chat", cxxopts::value<std::string>()->default_value(""))
        ("hide-thinking", "do not print the reasoning between <think> and </think>")
        ("logits-out", "write the prompt's logits (float32, [n_tokens][n_vocab]) to a file", cxxopts::value<std::string>())
        ("no-mmap", "read the model into memory instead of mapping it")
        ("mlock", "lock the non-expert weights in RAM (a warning if the OS refuses)")
        ("stats", "print expert usage, resident weight bytes, page faults and disk reads at exit")
        ("no-prefetch", "do not ask the OS to read the chosen experts ahead of use")
        ("prefetch-next", "also hint the experts the next layer will likely choose")
        ("no-advise-random", "keep the kernel's read-ahead on expert tensors (no MADV_RANDOM)")
        ("h,help", "show this help");
    try {
        const auto a = opts.parse(argc, argv);
        if (a.count("help")) {
            std::cout << opts.help() << "\n";
            return 0;
        }
        if (!a.count("model")) {
            std::cerr << "moe-cli: -m MODEL is required (see --help)\n";
            return 2;
        }
        o.model_path = a["model"].as<std::string>();
        if (a.count("prompt")) o.prompt = a["prompt"].as<std::string>();
        if (a.count("file")) {
            std::ifstream f(a["file"].as<std::string>(), std::ios::binary);
            if (!f) {
                std::cerr << "moe-cli: cannot read prompt file '" << a["file"].as<std::string>() << "'\n";
                return 1;
            }
            o.prompt.assign(std::istreambuf_iterator<char>(f), {});
        }
        if (a.count("tokens")) o.tokens = parse_token_list(a["tokens"].as<std::string>());
        if (a.count("logits-out")) o.logits_out = a["logits-out"].as<std::string>();
        o.system_prompt = a["system"].as<std::string>();
        o.n_predict = a["n-predict"].as<int>();
        o.n_ctx = a["ctx-size"].as<int>();
        o.n_batch = a["batch-size"].as<int>();
        o.n_threads = a["threads"].as<int>();
        o.n_threads_batch = a["threads-batch"].as<int>();
        o.chat = a.count("chat") > 0;
        o.show_reasoning = a.count("hide-thinking") == 0;
        o.use_mmap = a.count("no-mmap") == 0;
        o.use_mlock = a.count("mlock") > 0;
        o.stats = a.count("stats") > 0;
        o.prefetch = a.count("no-prefetch") == 0;
        o.prefetch_next = a.count("prefetch-next") > 0;
        o.advise_random = a.count("no-advise-random") == 0;
        o.sampling.temperature = a["temp"].as<float>();
        o.sampling.top_k = a["top-k"].as<int>();
        o.sampling.top_p = a["top-p"].as<float>();
        o.sampling.min_p = a["min-p"].as<float>();
        o.sampling.repeat_penalty = a["repeat-penalty"].as<float>();
        o.sampling.repeat_last_n = a["repeat-last-n"].as<int>();
        o.sampling.seed = a["seed"].as<uint64_t>();
        if (o.n_ctx <= 0 || o.n_batch <= 0 || o.n_predict < 0 || o.n_threads < 0 || o.n_threads_batch < 0) {
            std::cerr << "moe-cli: sizes and counts must be positive (see --help)\n";
            return 2;
        }
        if (!o.chat && o.prompt.empty() && o.tokens.empty()) {
            std::cerr << "moe-cli: give a prompt with -p, -f or --tokens, or use --chat (see --help)\n";
            return 2;
        }
        moecpu::cli::CliSession session(o);
        return o.chat ? session.run_chat() : session.run_prompt();
    } catch (const cxxopts::exceptions::exception& e) {
        std::cerr << "moe-cli: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "moe-cli: error: " << e.what() << "\n";
        return 1;
    }
}
