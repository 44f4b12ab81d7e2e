#include "tests/model/model_fixtures.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "examples/quantize/hf_to_gguf.h"
#include "examples/quantize/tensor_type_policy.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace moecpu::test {

namespace {

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("moecpu-model-test-" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

const fs::path& temp_dir() {
    static TempDir dir;
    return dir.path;
}

std::string data_dir(const std::string& model) { return std::string(MOECPU_TEST_DATA_DIR) + "/" + model; }

json manifest(const std::string& model) {
    std::ifstream f(data_dir(model) + "/reference/manifest.json");
    REQUIRE(f.good());
    return json::parse(f);
}

}  // namespace

std::string converted_fixture(const std::string& model, const std::string& type) {
    static std::map<std::string, std::string> done;
    const std::string key = model + "/" + type;
    if (auto it = done.find(key); it != done.end()) return it->second;
    convert::ConvertOptions o;
    o.input_dir = data_dir(model);
    o.output_path = (temp_dir() / (model + "-" + type + ".gguf")).string();
    o.show_progress = false;
    o.log = nullptr;
    convert::convert_hf_to_gguf(o, *convert::make_type_policy(type));
    return done[key] = o.output_path;
}

std::vector<float> reference_logits(const std::string& model, int index, size_t* n_tokens, size_t* n_vocab) {
    const json m = manifest(model);
    const json& seq = m["sequences"][size_t(index)];
    *n_tokens = seq["shape"][0].get<size_t>();
    *n_vocab = seq["shape"][1].get<size_t>();
    std::vector<float> logits(*n_tokens * *n_vocab);
    std::ifstream f(data_dir(model) + "/reference/" + seq["logits_file"].get<std::string>(), std::ios::binary);
    REQUIRE(f.good());
    f.read(reinterpret_cast<char*>(logits.data()), std::streamsize(logits.size() * sizeof(float)));
    REQUIRE(f.gcount() == std::streamsize(logits.size() * sizeof(float)));
    return logits;
}

std::vector<ReferenceSequence> reference_sequences(const std::string& model) {
    std::vector<ReferenceSequence> out;
    const json m = manifest(model);
    for (const json& s : m["sequences"])
        out.push_back({s["name"].get<std::string>(), s["text"].get<std::string>(), s["token_ids"].get<std::vector<int32_t>>()});
    return out;
}

GreedyReference greedy_reference(const std::string& model) {
    const json g = manifest(model)["greedy"];
    return {g["prompt_ids"].get<std::vector<int32_t>>(), g["generated_ids"].get<std::vector<int32_t>>(),
            g["generated_text"].get<std::string>()};
}

size_t argmax(const float* x, size_t n) { return size_t(std::max_element(x, x + n) - x); }

double kl_divergence(const float* ref, const float* got, size_t n) {
    auto log_sum_exp = [n](const float* x) {
        const double mx = *std::max_element(x, x + n);
        double s = 0;
        for (size_t j = 0; j < n; ++j) s += std::exp(double(x[j]) - mx);
        return mx + std::log(s);
    };
    const double lr = log_sum_exp(ref), lg = log_sum_exp(got);
    double kl = 0;
    for (size_t j = 0; j < n; ++j) {
        const double lp = double(ref[j]) - lr;
        kl += std::exp(lp) * (lp - (double(got[j]) - lg));
    }
    return kl;
}

Model::Model(const std::string& path, bool mmap) {
    moecpu_model_params p = moecpu_model_default_params();
    p.use_mmap = mmap ? 1 : 0;
    const moecpu_status st = moecpu_model_load(path.c_str(), p, &m);
    INFO(moecpu_last_error());
    REQUIRE(st == MOECPU_OK);
}

Context::Context(moecpu_model* m, int n_ctx, int n_batch, bool logits_all, int threads) {
    moecpu_context_params p = moecpu_context_default_params();
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    p.logits_all = logits_all ? 1 : 0;
    p.n_threads = threads;
    const moecpu_status st = moecpu_context_create(m, p, &c);
    INFO(moecpu_last_error());
    REQUIRE(st == MOECPU_OK);
}

ReferenceQuality quality_against_reference(const std::string& model_path) {
    Model m(model_path);
    ReferenceQuality q;
    double kl_sum = 0;
    const auto seqs = reference_sequences("tiny-ds3");
    for (int s = 0; s < int(seqs.size()); ++s) {
        size_t n_tokens = 0, n_vocab = 0;
        const auto ref = reference_logits("tiny-ds3", s, &n_tokens, &n_vocab);
        Context ctx(m.m, 256, 256, true);
        REQUIRE(moecpu_eval(ctx.c, seqs[size_t(s)].tokens.data(), seqs[size_t(s)].tokens.size()) == MOECPU_OK);
        for (size_t i = 0; i < n_tokens; ++i) {
            const float* got = moecpu_get_logits(ctx.c, int32_t(i));
            q.non_finite += size_t(std::count_if(got, got + n_vocab, [](float v) { return !std::isfinite(v); }));
            const double kl = kl_divergence(&ref[i * n_vocab], got, n_vocab);
            kl_sum += kl;
            q.kl_max = std::max(q.kl_max, kl);
            q.agree += argmax(got, n_vocab) == argmax(&ref[i * n_vocab], n_vocab);
            ++q.total;
        }
    }
    q.kl_mean = kl_sum / double(q.total);
    return q;
}

}  // namespace moecpu::test
