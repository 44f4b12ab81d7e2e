// Quantization test helpers (see quant_test_util.h).
#include "quant_test_util.h"

#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>

#include "convert_test_util.h"
#include "examples/quantize/hf_to_gguf.h"
#include "examples/quantize/tensor_type_policy.h"
#include "moecpu.h"

namespace moecpu::test {

namespace {

ScratchDir& scratch() {
    static ScratchDir dir;
    return dir;
}

void check(moecpu_status st, const std::string& what) {
    if (st != MOECPU_OK) throw std::runtime_error(what + ": " + moecpu_last_error());
}

struct Loaded {
    moecpu_model* model = nullptr;
    moecpu_context* ctx = nullptr;
    Loaded(const std::string& path, int n_ctx) {
        check(moecpu_model_load(path.c_str(), moecpu_model_default_params(), &model), "loading " + path);
        moecpu_context_params p = moecpu_context_default_params();
        p.n_ctx = n_ctx;
        p.n_batch = n_ctx;
        p.logits_all = 1;
        p.n_threads = 1;  // the tiny model gains nothing from threads on a busy machine
        check(moecpu_context_create(model, p, &ctx), "context for " + path);
    }
    ~Loaded() {
        moecpu_context_free(ctx);
        moecpu_model_free(model);
    }
    // Log-probabilities of rows [first, n) after evaluating `chunk`.
    std::vector<double> logprobs(const std::vector<int32_t>& chunk, size_t first) {
        check(moecpu_context_truncate(ctx, 0), "truncate");
        check(moecpu_eval(ctx, chunk.data(), chunk.size()), "eval");
        const size_t V = static_cast<size_t>(moecpu_model_n_vocab(model));
        std::vector<double> out;
        for (size_t i = first; i < chunk.size(); ++i) {
            const float* row = moecpu_get_logits(ctx, static_cast<int32_t>(i));
            if (!row) throw std::runtime_error("no logits");
            double mx = row[0];
            for (size_t v = 1; v < V; ++v) mx = std::max(mx, static_cast<double>(row[v]));
            double sum = 0;
            for (size_t v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
            const double lse = mx + std::log(sum);
            for (size_t v = 0; v < V; ++v) out.push_back(row[v] - lse);
        }
        return out;
    }
};

}  // namespace

std::string scratch_file(const std::string& name) { return scratch().file(name); }

std::string tiny_gguf(const std::string& type) {
    static std::map<std::string, std::string> cache;
    auto& path = cache[type];
    if (path.empty()) {
        convert::ConvertOptions o;
        o.input_dir = data_dir() + "/tiny-ds3";
        o.output_path = scratch_file("tiny-" + type + ".gguf");
        o.log = nullptr;
        convert::convert_hf_to_gguf(o, *convert::make_type_policy(type));
        path = o.output_path;
    }
    return path;
}

std::vector<int32_t> text_tokens(const std::string& model_path) {
    const std::string text = read_text(data_dir() + "/text/apache-2.0.txt");
    moecpu_model* model = nullptr;
    check(moecpu_model_load(model_path.c_str(), moecpu_model_default_params(), &model), "loading " + model_path);
    size_t n = 0;
    moecpu_tokenize(model, text.data(), text.size(), 0, 0, nullptr, 0, &n);
    std::vector<int32_t> ids(n);
    const moecpu_status st = moecpu_tokenize(model, text.data(), text.size(), 0, 0, ids.data(), ids.size(), &n);
    moecpu_model_free(model);
    check(st, "tokenize");
    return ids;
}

double mean_kl(const std::string& base_path, const std::string& model_path, const std::vector<int32_t>& tokens,
               size_t first, int n_ctx, int n_chunks) {
    Loaded base(base_path, n_ctx), model(model_path, n_ctx);
    const size_t V = static_cast<size_t>(moecpu_model_n_vocab(base.model));
    double total = 0;
    size_t count = 0;
    for (int c = 0; c < n_chunks; ++c) {
        const size_t at = first + static_cast<size_t>(c * n_ctx);
        if (at + static_cast<size_t>(n_ctx) > tokens.size()) throw std::runtime_error("text too short");
        std::vector<int32_t> chunk(tokens.begin() + static_cast<std::ptrdiff_t>(at),
                                   tokens.begin() + static_cast<std::ptrdiff_t>(at + static_cast<size_t>(n_ctx)));
        const auto p = base.logprobs(chunk, chunk.size() / 2);
        const auto q = model.logprobs(chunk, chunk.size() / 2);
        for (size_t r = 0; r < p.size() / V; ++r) {
            double kl = 0;
            for (size_t v = 0; v < V; ++v) kl += std::exp(p[r * V + v]) * (p[r * V + v] - q[r * V + v]);
            total += kl;
            ++count;
        }
    }
    return total / static_cast<double>(count);
}

bool files_equal(const std::string& a, const std::string& b) {
    std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
    const std::string sa((std::istreambuf_iterator<char>(fa)), {}), sb((std::istreambuf_iterator<char>(fb)), {});
    return !sa.empty() && sa == sb;
}

}  // namespace moecpu::test
