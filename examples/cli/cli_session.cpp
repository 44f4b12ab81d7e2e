#include "examples/cli/cli_session.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "examples/cli/reasoning_stream.h"

namespace moecpu::cli {

namespace {

std::atomic<int> g_interrupts{0};

void on_sigint(int) {
    if (g_interrupts.fetch_add(1) >= 1) std::_Exit(130);  // second Ctrl-C: leave at once
}

void check(moecpu_status st, const char* what) {
    if (st != MOECPU_OK) throw std::runtime_error(std::string(what) + ": " + moecpu_last_error());
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct StreamState {
    ReasoningStream* stream;
    std::vector<int32_t>* generated;
};

int32_t on_token(moecpu_token token, const char* piece, size_t len, void* user_data) {
    auto* s = static_cast<StreamState*>(user_data);
    s->generated->push_back(token);
    s->stream->write(piece, len);
    return g_interrupts.load() > 0 ? 1 : 0;  // Ctrl-C ends the reply, not the program
}

}  // namespace

CliSession::CliSession(const CliOptions& options) : opt_(options) {
    moecpu_model_params mp = moecpu_model_default_params();
    mp.use_mmap = opt_.use_mmap ? 1 : 0;
    mp.use_mlock = opt_.use_mlock ? 1 : 0;
    mp.advise_random_experts = opt_.advise_random ? 1 : 0;
    mp.n_threads = opt_.n_threads;
    check(moecpu_model_load(opt_.model_path.c_str(), mp, &model_), "loading model");
    char desc[512];
    moecpu_model_describe(model_, desc, sizeof(desc));
    std::fprintf(stderr, "moe-cli: %s\nmoe-cli: kernels: %s\n", desc, moecpu_cpu_isa());

    moecpu_context_params cp = moecpu_context_default_params();
    cp.n_ctx = opt_.n_ctx;
    cp.n_batch = opt_.n_batch;
    cp.n_threads = opt_.n_threads;
    cp.n_threads_batch = opt_.n_threads_batch;
    cp.logits_all = opt_.logits_out.empty() ? 0 : 1;
    cp.prefetch_experts = opt_.prefetch ? 1 : 0;
    cp.prefetch_next_layer = opt_.prefetch_next ? 1 : 0;
    check(moecpu_context_create(model_, cp, &ctx_), "creating context");
    if (opt_.use_mlock) {
        moecpu_stats st{};
        if (moecpu_get_stats(ctx_, &st) == MOECPU_OK && st.mlock_state < 0)
            std::fprintf(stderr, "moe-cli: warning: --mlock: the OS refused to lock the weights (raise RLIMIT_MEMLOCK, ulimit -l)\n");
    }
    std::signal(SIGINT, on_sigint);
}

CliSession::~CliSession() {
    moecpu_context_free(ctx_);
    moecpu_model_free(model_);
}

std::vector<int32_t> CliSession::tokenize(const std::string& text, bool add_bos) const {
    size_t n = 0;
    moecpu_tokenize(model_, text.data(), text.size(), add_bos ? 1 : 0, 1, nullptr, 0, &n);
    std::vector<int32_t> ids(n);
    check(moecpu_tokenize(model_, text.data(), text.size(), add_bos ? 1 : 0, 1, ids.data(), ids.size(), &n), "tokenizing");
    return ids;
}

void CliSession::eval_timed(const std::vector<int32_t>& tokens) {
    if (tokens.empty()) return;
    const auto t0 = Clock::now();
    check(moecpu_eval(ctx_, tokens.data(), tokens.size()), "evaluating the prompt");
    prompt_seconds_ += seconds_since(t0);
    prompt_tokens_ += tokens.size();
}

int32_t CliSession::generate(std::vector<int32_t>* generated, bool starts_in_reasoning) {
    ReasoningStream stream(stdout, opt_.show_reasoning);
    stream.begin_reply(starts_in_reasoning);
    StreamState state{&stream, generated};
    int32_t n = 0;
    g_interrupts = 0;
    const auto t0 = Clock::now();
    const moecpu_status st =
        moecpu_generate(ctx_, nullptr, 0, opt_.n_predict, opt_.sampling, on_token, &state, &n);
    gen_seconds_ += seconds_since(t0);
    gen_tokens_ += size_t(n);
    stream.end_reply();
    if (st == MOECPU_ERR_CANCELLED) std::fprintf(stderr, "moe-cli: interrupted\n");
    else if (st == MOECPU_ERR_CONTEXT_FULL) std::fprintf(stderr, "moe-cli: context is full (-c %d)\n", opt_.n_ctx);
    else check(st, "generating");
    return n;
}

void CliSession::write_logits(size_t n_rows) const {
    // Written to a temporary sibling and renamed, so a failed run never leaves a partial file.
    const std::string tmp = opt_.logits_out + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream f(tmp, std::ios::binary);
        if (!f) throw std::runtime_error("cannot write '" + tmp + "'");
        const size_t n_vocab = size_t(moecpu_model_n_vocab(model_));
        for (size_t i = 0; i < n_rows; ++i)
            f.write(reinterpret_cast<const char*>(moecpu_get_logits(ctx_, int32_t(i))), std::streamsize(n_vocab * sizeof(float)));
        if (!f) throw std::runtime_error("writing '" + tmp + "' failed");
    }
    std::filesystem::rename(tmp, opt_.logits_out);
    std::fprintf(stderr, "moe-cli: wrote %zu x %d logits to %s\n", n_rows, moecpu_model_n_vocab(model_), opt_.logits_out.c_str());
}

void CliSession::print_speed() const {
    auto rate = [](size_t n, double s) { return s > 0 ? double(n) / s : 0.0; };
    std::fprintf(stderr, "\nmoe-cli: prompt: %zu tokens in %.2f s (%.2f tokens/s) | generation: %zu tokens in %.2f s (%.2f tokens/s)\n",
                 prompt_tokens_, prompt_seconds_, rate(prompt_tokens_, prompt_seconds_), gen_tokens_, gen_seconds_,
                 rate(gen_tokens_, gen_seconds_));
}

void CliSession::print_stats() const {
    moecpu_stats s{};
    check(moecpu_get_stats(ctx_, &s), "reading stats");
    auto mib = [](uint64_t b) { return double(b) / double(1 << 20); };
    auto pct = [](uint64_t a, uint64_t b) { return b ? 100.0 * double(a) / double(b) : 0.0; };
    std::fprintf(stderr, "moe-cli: stats: %lld tokens evaluated, file %.1f MiB\n", (long long)s.n_tokens, mib(s.file_bytes));
    std::fprintf(stderr, "moe-cli: stats: layer  experts-used/total  selections  touched-MiB  resident-MiB\n");
    for (int32_t il = 0; il < s.n_layers; ++il) {
        moecpu_layer_stats l{};
        check(moecpu_get_layer_stats(ctx_, il, &l), "reading layer stats");
        if (!l.is_moe) continue;
        std::fprintf(stderr, "moe-cli: stats: %5d  %8d/%-8d  %10lld  %11.1f  %12.1f\n", il, l.n_distinct, l.n_expert,
                     (long long)l.n_selections, mib(l.expert_bytes_touched), mib(l.expert_bytes_resident));
    }
    std::fprintf(stderr, "moe-cli: stats: expert weights: %.1f MiB touched, %.1f of %.1f MiB resident (%.1f%%)\n",
                 mib(s.expert_bytes_touched), mib(s.expert_bytes_resident), mib(s.expert_bytes),
                 pct(s.expert_bytes_resident, s.expert_bytes));
    std::fprintf(stderr, "moe-cli: stats: other weights: %.1f of %.1f MiB resident (%.1f%%)%s\n", mib(s.other_bytes_resident),
                 mib(s.other_bytes), pct(s.other_bytes_resident, s.other_bytes),
                 s.mlock_state > 0 ? ", locked" : s.mlock_state < 0 ? ", lock refused" : "");
    std::fprintf(stderr, "moe-cli: stats: page faults: %llu major, %llu minor; disk read: %.1f MiB (%.2f MiB/token)\n",
                 (unsigned long long)s.major_faults, (unsigned long long)s.minor_faults, mib(s.disk_read_bytes),
                 s.n_tokens ? mib(s.disk_read_bytes) / double(s.n_tokens) : 0.0);
}

int CliSession::run_prompt() {
    std::vector<int32_t> prompt = opt_.tokens.empty() ? tokenize(opt_.prompt, true) : opt_.tokens;
    const int32_t n_vocab = moecpu_model_n_vocab(model_);
    for (int32_t t : prompt)
        if (t < 0 || t >= n_vocab) throw std::runtime_error("token id " + std::to_string(t) + " is outside the vocabulary");
    if (prompt.empty()) throw std::runtime_error("empty prompt: give -p, -f or --tokens");
    if (opt_.tokens.empty()) {
        std::fwrite(opt_.prompt.data(), 1, opt_.prompt.size(), stdout);
        std::fflush(stdout);
    }
    eval_timed(prompt);
    if (!opt_.logits_out.empty()) write_logits(prompt.size());
    std::vector<int32_t> generated;
    if (opt_.n_predict > 0) generate(&generated, false);
    print_speed();
    if (opt_.stats) print_stats();
    return 0;
}

int CliSession::run_chat() {
    std::vector<moecpu_chat_message> messages;
    std::vector<std::pair<std::string, std::string>> turns;  // owns the message strings
    if (!opt_.system_prompt.empty()) turns.emplace_back("system", opt_.system_prompt);
    std::vector<int32_t> in_cache;  // tokens the context holds, to reuse the common prefix
    const bool interactive = isatty(STDIN_FILENO) != 0;
    if (interactive) std::fprintf(stderr, "moe-cli: chat mode; Ctrl-C stops a reply, Ctrl-D or /exit quits.\n");
    std::string line;
    while (true) {
        if (interactive) std::fputs("\n> ", stdout), std::fflush(stdout);
        if (!std::getline(std::cin, line) || line == "/exit") break;
        if (line.empty()) continue;
        turns.emplace_back("user", line);
        messages.clear();
        for (const auto& [role, content] : turns) messages.push_back({role.c_str(), content.c_str()});
        size_t len = 0;
        moecpu_chat_apply_template(model_, messages.data(), messages.size(), 1, nullptr, 0, &len);
        std::string rendered(len, '\0');
        check(moecpu_chat_apply_template(model_, messages.data(), messages.size(), 1, rendered.data(), rendered.size(), &len),
              "rendering the chat template");
        const std::vector<int32_t> prompt = tokenize(rendered, false);
        // Re-evaluate only from the first token that differs from what the cache holds: earlier
        // replies are re-rendered by the template (R1's drops their reasoning), so the cache
        // follows the template exactly rather than keeping stale reasoning.
        size_t common = 0;
        while (common < in_cache.size() && common < prompt.size() && in_cache[common] == prompt[common]) ++common;
        if (common == prompt.size()) --common;  // always evaluate at least one token for fresh logits
        check(moecpu_context_truncate(ctx_, int32_t(common)), "trimming the context");
        in_cache.resize(common);
        const std::vector<int32_t> rest(prompt.begin() + long(common), prompt.end());
        eval_timed(rest);
        in_cache.insert(in_cache.end(), rest.begin(), rest.end());
        const bool opens_reasoning = rendered.size() >= 8 && rendered.compare(rendered.size() - 8, 8, "<think>\n") == 0;
        std::vector<int32_t> generated;
        generate(&generated, opens_reasoning);
        in_cache.insert(in_cache.end(), generated.begin(), generated.end());
        std::string reply;
        for (int32_t t : generated) {
            char buf[256];
            const size_t n = moecpu_token_to_piece(model_, t, buf, sizeof(buf));
            reply.append(buf, std::min(n, sizeof(buf)));
        }
        turns.emplace_back("assistant", opens_reasoning ? "<think>\n" + reply : reply);
    }
    print_speed();
    if (opt_.stats) print_stats();
    return 0;
}

}  // namespace moecpu::cli
