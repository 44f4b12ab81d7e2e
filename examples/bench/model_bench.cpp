#include "examples/bench/model_bench.h"

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "examples/bench/bandwidth.h"
#include "examples/bench/huge_pages.h"
#include "lib/src/model.h"  // weight bytes per token: an internal figure of the architecture
#include "moecpu.h"

namespace moecpu::bench {

namespace {

using Clock = std::chrono::steady_clock;

void check(moecpu_status st, const char* what) {
    if (st != MOECPU_OK) throw std::runtime_error(std::string(what) + ": " + moecpu_last_error());
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

int32_t argmax(const float* x, int32_t n) { return int32_t(std::max_element(x, x + n) - x); }

}  // namespace

ModelBenchReport run_model_bench(const ModelBenchOptions& o, bool print_progress) {
    ModelBenchReport r;
    moecpu_model_params mp = moecpu_model_default_params();
    mp.use_mmap = o.use_mmap ? 1 : 0;
    moecpu_model* model = nullptr;
    check(moecpu_model_load(o.model_path.c_str(), mp, &model), "loading the model");
    struct Guard {
        moecpu_model* m;
        moecpu_context* c = nullptr;
        ~Guard() { moecpu_context_free(c); moecpu_model_free(m); }
    } guard{model};
    char desc[512];
    moecpu_model_describe(model, desc, sizeof(desc));
    r.model_desc = desc;
    const int32_t n_vocab = moecpu_model_n_vocab(model);

    std::vector<int32_t> prompt = o.tokens;
    if (prompt.empty())  // spread-out ids: routing then varies as with real text
        for (int i = 0; i < o.n_prompt; ++i) prompt.push_back(int32_t((int64_t(i) * 7919 + 13) % n_vocab));
    r.n_prompt = int(prompt.size());
    r.n_gen = o.n_gen;
    r.reps = std::max(1, o.reps);
    r.threads = o.threads > 0 ? o.threads : omp_get_num_procs();

    r.n_depth = std::max(0, o.n_depth);
    moecpu_context_params cp = moecpu_context_default_params();
    cp.n_ctx = r.n_depth + std::max(r.n_prompt, o.n_gen) + 1;
    cp.n_batch = std::max({1, r.n_prompt, std::min(r.n_depth, 512)});
    cp.n_threads = o.threads;
    cp.n_threads_batch = o.threads_batch;
    cp.prefetch_experts = o.prefetch_experts ? 1 : 0;
    check(moecpu_context_create(model, cp, &guard.c), "creating a context");
    moecpu_context* ctx = guard.c;

    // The depth tokens are evaluated once (untimed); every test then truncates back to them.
    std::vector<int32_t> depth(size_t(r.n_depth));
    for (int i = 0; i < r.n_depth; ++i) depth[size_t(i)] = int32_t((int64_t(i) * 104729 + 7) % n_vocab);
    for (size_t done = 0; done < depth.size();) {
        const size_t step = std::min(depth.size() - done, size_t(cp.n_batch));
        check(moecpu_eval(ctx, depth.data() + done, step), "filling the context to the requested depth");
        done += step;
    }

    // Each test starts from the depth tokens and returns its seconds.
    auto process_prompt = [&](const char* what) {
        check(moecpu_context_truncate(ctx, r.n_depth), "clearing the context");
        const auto t0 = Clock::now();
        check(moecpu_eval(ctx, prompt.data(), prompt.size()), what);
        return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    auto generate = [&](int n_tokens, const char* what) {
        check(moecpu_context_truncate(ctx, r.n_depth), "clearing the context");
        int32_t next = prompt.empty() ? 1 % n_vocab : prompt[0];
        const auto t0 = Clock::now();
        for (int i = 0; i < n_tokens; ++i) {
            check(moecpu_eval(ctx, &next, 1), what);
            next = argmax(moecpu_get_logits(ctx, -1), n_vocab);  // greedy: real routing, no sampling cost
        }
        return std::chrono::duration<double>(Clock::now() - t0).count();
    };

    // One untimed round first, as llama-bench does: the first touch of every mapped weight page
    // (a minor fault each, even from the page cache) and the threads' start are not what a
    // repetition should measure.
    if (!prompt.empty()) process_prompt("warm-up prompt processing");
    if (o.n_gen > 0) generate(std::min(o.n_gen, 4), "warm-up generation");

    std::vector<double> pp, tg;
    for (int rep = 0; rep < r.reps; ++rep) {
        if (print_progress) std::fprintf(stderr, "moe-bench: repetition %d/%d\n", rep + 1, r.reps);
        if (!prompt.empty()) pp.push_back(process_prompt("prompt processing"));
        if (o.n_gen > 0) tg.push_back(generate(o.n_gen, "generation"));
    }
    if (!prompt.empty()) r.pp_tokens_per_s = double(r.n_prompt) / median(pp);
    if (o.n_gen > 0) r.tg_tokens_per_s = double(o.n_gen) / median(tg);

    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0) r.peak_rss_bytes = uint64_t(usage.ru_maxrss) * 1024;  // Linux: KiB
    const MappedPages pages = mapped_pages_of(o.model_path);
    r.mapped_resident_bytes = pages.resident_bytes;
    r.mapped_huge_bytes = pages.huge_bytes;
    r.weight_bytes_per_token = model->arch->weight_bytes_per_token();
    if (print_progress) std::fprintf(stderr, "moe-bench: measuring memory read bandwidth (%d threads)\n", r.threads);
    r.bandwidth_gbps = measure_read_bandwidth(size_t(1) << 30, r.threads, 7).gbps;
    r.gbps = double(r.weight_bytes_per_token) * r.tg_tokens_per_s / 1e9;
    r.bw_fraction = r.bandwidth_gbps > 0 ? r.gbps / r.bandwidth_gbps : 0;
    return r;
}

void print_model_report(const ModelBenchReport& r) {
    std::printf("model:              %s\n", r.model_desc.c_str());
    std::printf("threads:            %d (median of %d repetitions)\n", r.threads, r.reps);
    if (r.n_depth > 0) std::printf("context depth:      %d tokens before each test\n", r.n_depth);
    std::printf("prompt processing:  %d tokens at %.2f tokens/s\n", r.n_prompt, r.pp_tokens_per_s);
    std::printf("generation:         %d tokens at %.2f tokens/s\n", r.n_gen, r.tg_tokens_per_s);
    std::printf("weights per token:  %.2f MiB read per generated token\n", double(r.weight_bytes_per_token) / (1 << 20));
    std::printf("peak RSS:           %.0f MiB (model file mapped: only touched pages count)\n",
                double(r.peak_rss_bytes) / (1 << 20));
    if (r.mapped_resident_bytes > 0)
        std::printf("2 MiB pages:        %.0f %% of the %.0f MiB of the model file in memory\n",
                    100.0 * double(r.mapped_huge_bytes) / double(r.mapped_resident_bytes),
                    double(r.mapped_resident_bytes) / (1 << 20));
    std::printf("weight streaming:   %.2f GB/s = %.1f %% of the measured %.2f GB/s read bandwidth\n", r.gbps,
                100.0 * r.bw_fraction, r.bandwidth_gbps);
}

std::string model_report_json(const ModelBenchReport& r) {
    nlohmann::json j = {{"model", r.model_desc},
                        {"threads", r.threads},
                        {"n_prompt", r.n_prompt},
                        {"n_gen", r.n_gen},
                        {"n_depth", r.n_depth},
                        {"pp_tokens_per_s", r.pp_tokens_per_s},
                        {"tg_tokens_per_s", r.tg_tokens_per_s},
                        {"weight_bytes_per_token", r.weight_bytes_per_token},
                        {"bandwidth_gbps", r.bandwidth_gbps},
                        {"gbps", r.gbps},
                        {"bw_fraction", r.bw_fraction},
                        {"peak_rss_bytes", r.peak_rss_bytes},
                        {"mapped_resident_bytes", r.mapped_resident_bytes},
                        {"mapped_huge_bytes", r.mapped_huge_bytes}};
    return j.dump();
}

}  // namespace moecpu::bench
