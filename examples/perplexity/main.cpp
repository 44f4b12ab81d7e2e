// moe-perplexity: perplexity of a model over a text, and how far a (quantized) model's
// predictions are from a base model's: KL divergence, top-1 agreement, Δ log-probability.
//
//   moe-perplexity -m q4_k.gguf -f text.txt -c 256 --kld-base f32.gguf
//   moe-perplexity -m f32.gguf -f text.txt --save-logits base.logp     (once)
//   moe-perplexity -m q2_k.gguf -f text.txt --kld-logits base.logp     (per candidate)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include <cxxopts.hpp>

#include "examples/perplexity/chunk_scorer.h"
#include "examples/perplexity/divergence_stats.h"
#include "examples/perplexity/logprob_file.h"
#include "examples/perplexity/progress_line.h"

using namespace moecpu::tools;

namespace {

std::vector<int32_t> tokenize_file(const moecpu_model* model, const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read text file '" + path + "'");
    const std::string text((std::istreambuf_iterator<char>(f)), {});
    size_t n = 0;
    moecpu_tokenize(model, text.data(), text.size(), 0, 0, nullptr, 0, &n);
    std::vector<int32_t> ids(n);
    if (moecpu_tokenize(model, text.data(), text.size(), 0, 0, ids.data(), ids.size(), &n) != MOECPU_OK)
        throw std::runtime_error(std::string("tokenizing '") + path + "': " + moecpu_last_error());
    return ids;
}

void print_table(const DivergenceSummary& s, const std::string& model, size_t n_chunks, int n_ctx) {
    std::printf("\nmodel:            %s\n", model.c_str());
    std::printf("chunks:           %zu x %d tokens, %zu positions scored\n", n_chunks, n_ctx, s.n);
    std::printf("perplexity:       %.4f ± %.4f\n", s.ppl, s.ppl_stderr);
    if (!s.has_base) return;
    std::printf("base perplexity:  %.4f\n", s.base_ppl);
    std::printf("KL divergence:    mean %.6f ± %.6f nats, median %.6f, p90 %.6f, p99 %.6f, max %.6f\n", s.kld_mean,
                s.kld_stderr, s.kld_p50, s.kld_p90, s.kld_p99, s.kld_max);
    std::printf("top-1 agreement:  %.2f %%\n", 100.0 * s.top1_agreement);
    std::printf("Δ log-prob:       %+.6f nats per token (model − base, of the true token)\n", s.delta_logprob_mean);
}

}  // namespace

int main(int argc, char** argv) {
    cxxopts::Options opts("moe-perplexity", "Perplexity of a GGUF model over a text file, and KL divergence against a base model.");
    opts.add_options()
        ("m,model", "model file (.gguf)", cxxopts::value<std::string>())
        ("f,file", "UTF-8 text file", cxxopts::value<std::string>())
        ("c,ctx-size", "tokens per chunk; the second half of each chunk is scored", cxxopts::value<int>()->default_value("512"))
        ("chunks", "maximum number of chunks (0: as many as the text holds)", cxxopts::value<int>()->default_value("0"))
        ("t,threads", "threads (0: all cores)", cxxopts::value<int>()->default_value("0"))
        ("b,batch-size", "tokens per evaluation call", cxxopts::value<int>()->default_value("512"))
        ("kld-base", "base model to compare with (evaluated in the same run)", cxxopts::value<std::string>())
        ("save-logits", "save this model's log-probabilities as a base for later --kld-logits runs", cxxopts::value<std::string>())
        ("kld-logits", "compare with log-probabilities saved by --save-logits", cxxopts::value<std::string>())
        ("json", "print the final numbers as one JSON object")
        ("h,help", "show this help");
    try {
        const auto a = opts.parse(argc, argv);
        if (a.count("help")) {
            std::cout << opts.help() << "\n";
            return 0;
        }
        if (!a.count("model") || !a.count("file")) {
            std::cerr << "moe-perplexity: -m MODEL and -f TEXT are required (see --help)\n";
            return 2;
        }
        if (a.count("kld-base") + a.count("save-logits") + a.count("kld-logits") > 1) {
            std::cerr << "moe-perplexity: use at most one of --kld-base, --save-logits, --kld-logits\n";
            return 2;
        }
        const std::string model_path = a["model"].as<std::string>();
        const int n_ctx = a["ctx-size"].as<int>();
        const int threads = a["threads"].as<int>();
        const int batch = a["batch-size"].as<int>();
        if (n_ctx < 4) throw std::runtime_error("--ctx-size must be at least 4");

        ChunkScorer scorer(model_path, n_ctx, threads, batch);
        std::unique_ptr<ChunkScorer> base;
        std::unique_ptr<LogprobReader> saved;
        if (a.count("kld-base")) base = std::make_unique<ChunkScorer>(a["kld-base"].as<std::string>(), n_ctx, threads, batch);
        if (a.count("kld-logits")) saved = std::make_unique<LogprobReader>(a["kld-logits"].as<std::string>());

        std::vector<int32_t> tokens = tokenize_file(scorer.model(), a["file"].as<std::string>());
        size_t n_chunks = tokens.size() / size_t(n_ctx);
        if (a["chunks"].as<int>() > 0) n_chunks = std::min(n_chunks, size_t(a["chunks"].as<int>()));
        if (saved) {
            const LogprobHeader& h = saved->header();
            if (h.n_ctx != uint32_t(n_ctx) || h.n_vocab != uint32_t(scorer.n_vocab()))
                throw std::runtime_error("the saved logits were made with -c " + std::to_string(h.n_ctx) + " and a vocabulary of " +
                                         std::to_string(h.n_vocab) + "; this run has -c " + std::to_string(n_ctx) +
                                         " and " + std::to_string(scorer.n_vocab()));
            n_chunks = std::min<size_t>(n_chunks, h.n_chunks);
        }
        if (n_chunks == 0)
            throw std::runtime_error("the text has " + std::to_string(tokens.size()) + " tokens, fewer than one chunk of " +
                                     std::to_string(n_ctx) + " (lower -c)");
        if (base && base->n_vocab() != scorer.n_vocab()) throw std::runtime_error("the base model has another vocabulary");

        const int first = n_ctx / 2;
        const size_t n_scored = size_t(n_ctx - 1 - first);
        std::vector<int32_t> chunk_tokens(n_chunks * size_t(n_ctx));
        for (size_t c = 0; c < n_chunks; ++c) {
            std::copy_n(tokens.begin() + long(c * size_t(n_ctx)), n_ctx, chunk_tokens.begin() + long(c * size_t(n_ctx)));
            if (scorer.bos() >= 0) chunk_tokens[c * size_t(n_ctx)] = scorer.bos();  // each chunk starts like a document
        }
        if (saved && !std::equal(chunk_tokens.begin(), chunk_tokens.end(), saved->tokens().begin()))
            throw std::runtime_error("the saved logits were made on another text or tokenizer");
        std::unique_ptr<LogprobWriter> writer;
        if (a.count("save-logits"))
            writer = std::make_unique<LogprobWriter>(a["save-logits"].as<std::string>(),
                                                     LogprobHeader{uint32_t(scorer.n_vocab()), uint32_t(n_ctx), uint32_t(n_chunks), uint32_t(n_scored)},
                                                     chunk_tokens);

        DivergenceStats stats;
        std::vector<float> lp, base_lp;
        ProgressLine progress("moe-perplexity", n_chunks, "chunks");
        const size_t nv = size_t(scorer.n_vocab());
        for (size_t c = 0; c < n_chunks; ++c) {
            const std::vector<int32_t> chunk(chunk_tokens.begin() + long(c * size_t(n_ctx)), chunk_tokens.begin() + long((c + 1) * size_t(n_ctx)));
            scorer.score(chunk, first, lp);
            if (base) base->score(chunk, first, base_lp);
            if (saved) {
                base_lp.resize(n_scored * nv);
                for (size_t j = 0; j < n_scored; ++j) saved->read_row(&base_lp[j * nv]);
            }
            for (size_t j = 0; j < n_scored; ++j) {
                if (writer) writer->append_row(&lp[j * nv]);
                stats.add(&lp[j * nv], base_lp.empty() ? nullptr : &base_lp[j * nv], nv, chunk[size_t(first) + j + 1]);
            }
            progress.update(c + 1);
        }
        progress.finish();
        if (writer) writer->finish();

        const DivergenceSummary s = stats.summary();
        if (a.count("json")) {
            nlohmann::json j = {{"model", model_path}, {"n_ctx", n_ctx}, {"chunks", n_chunks}, {"positions", s.n},
                                {"ppl", s.ppl}, {"ppl_stderr", s.ppl_stderr}};
            if (s.has_base) {
                j["base_ppl"] = s.base_ppl;
                j["kld_mean"] = s.kld_mean;
                j["kld_stderr"] = s.kld_stderr;
                j["kld_p50"] = s.kld_p50;
                j["kld_p90"] = s.kld_p90;
                j["kld_p99"] = s.kld_p99;
                j["kld_max"] = s.kld_max;
                j["top1_agreement"] = s.top1_agreement;
                j["delta_logprob_mean"] = s.delta_logprob_mean;
            }
            std::cout << j.dump() << "\n";
        } else {
            print_table(s, model_path, n_chunks, n_ctx);
        }
        return 0;
    } catch (const cxxopts::exceptions::exception& e) {
        std::cerr << "moe-perplexity: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "moe-perplexity: error: " << e.what() << "\n";
        return 1;
    }
}
