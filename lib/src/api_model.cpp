// C API: models, contexts, evaluation, tokenization, sampling and generation. The only place
// (with api_status.cpp) where exceptions are caught and turned into status codes.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "cpu-kernels/dispatch.h"
#include "lib/src/error.h"
#include "lib/src/mapped_file.h"
#include "lib/src/model.h"
#include "quant/type_traits.h"

using namespace moecpu;

namespace moecpu {
int resolve_threads(int32_t requested) { return requested > 0 ? requested : std::max(1, omp_get_num_procs()); }
}

namespace {

void require(bool ok, const char* what) {
    if (!ok) fail(MOECPU_ERR_INVALID_ARGUMENT, what);
}

// Paging hints and locks chosen by the model parameters; all best-effort.
void apply_residency_hints(moecpu_model& m) {
    m.regions = classify_weights(*m.reader, m.arch->hparams().n_layer);
    const MappedFile* file = m.reader->mapped_file();
    if (!file) return;
    const uint8_t* base = file->data();
    if (!m.params.advise_random_experts) file->advise_normal();
    if (m.params.use_mlock) {
        m.mlock_state = 1;
        for (const ByteRange& r : m.regions.other) {
            file->populate_huge(uint64_t(r.begin - base), r.length);  // so the locked pages are 2 MiB folios
            if (!file->lock(uint64_t(r.begin - base), r.length)) m.mlock_state = -1;
        }
    } else if (m.params.advise_random_experts) {
        // The mapping is opened MADV_RANDOM, so a fault in an expert reads only its page: the
        // kernel's read-around (read_ahead_kb, often MiBs) would drag neighbouring experts in,
        // also from faults in the small tensors next to them. The non-expert tensors, needed by
        // every token, are read whole instead, exactly their ranges, starting now.
        std::vector<PageCacheWarmer::Range> ranges;
        for (const ByteRange& r : m.regions.other) ranges.push_back({uint64_t(r.begin - base), r.length});
        m.warmer = std::make_unique<PageCacheWarmer>(*file, std::move(ranges));
    }
}

SamplerConfig to_config(const moecpu_sampler_params& p) {
    SamplerConfig c;
    c.temperature = p.temperature;
    c.top_k = p.top_k;
    c.top_p = p.top_p;
    c.min_p = p.min_p;
    c.repeat_penalty = p.repeat_penalty;
    c.repeat_last_n = p.repeat_last_n;
    c.seed = p.seed;
    return c;
}

bool same_params(const moecpu_sampler_params& a, const moecpu_sampler_params& b) {
    return a.temperature == b.temperature && a.top_k == b.top_k && a.top_p == b.top_p && a.min_p == b.min_p &&
           a.repeat_penalty == b.repeat_penalty && a.repeat_last_n == b.repeat_last_n && a.seed == b.seed;
}

void eval_tokens(moecpu_context* ctx, const moecpu_token* tokens, size_t n) {
    const int64_t n_vocab = ctx->model->arch->hparams().n_vocab;
    if (int64_t(ctx->history.size() + n) > ctx->state->n_ctx())
        fail(MOECPU_ERR_CONTEXT_FULL, "context is full: " + std::to_string(ctx->history.size()) + " + " +
                                          std::to_string(n) + " tokens exceed n_ctx = " + std::to_string(ctx->state->n_ctx()));
    const bool all = ctx->params.logits_all != 0;
    const int64_t rows = all ? int64_t(n) : 1;
    if (ctx->logits.size() < size_t(rows * n_vocab)) ctx->logits.resize(size_t(rows * n_vocab));
    const int threads = resolve_threads(n > 1 ? ctx->params.n_threads_batch : ctx->params.n_threads);
    for (size_t done = 0; done < n;) {
        const int64_t chunk = std::min<int64_t>(int64_t(n - done), ctx->state->n_batch());
        const bool last_chunk = done + size_t(chunk) == n;
        float* out = all ? &ctx->logits[done * size_t(n_vocab)] : ctx->logits.data();
        // Intermediate chunks of a last-row-only eval still write their last row; it is overwritten.
        ctx->state->forward(tokens + done, chunk, int64_t(ctx->history.size()), all, out, threads);
        ctx->history.insert(ctx->history.end(), tokens + done, tokens + done + chunk);
        ctx->stats_tokens += chunk;
        done += size_t(chunk);
        (void)last_chunk;
    }
    ctx->n_logit_rows = rows;
    ctx->last_batch = int64_t(n);
}

}  // namespace

extern "C" {

const char* moecpu_cpu_isa(void) { return kernels::active().name; }

moecpu_model_params moecpu_model_default_params(void) {
    moecpu_model_params p;
    p.use_mmap = 1;
    p.use_mlock = 0;
    p.n_threads = 0;
    p.advise_random_experts = 1;
    return p;
}

moecpu_status moecpu_model_load(const char* path, moecpu_model_params params, moecpu_model** out_model) {
    return guarded([&] {
        require(path && out_model, "moecpu_model_load: path and out_model must not be null");
        *out_model = nullptr;
        auto m = std::make_unique<moecpu_model>();
        m->params = params;
        m->reader = gguf::Reader::open(path, params.use_mmap != 0);
        m->arch = std::make_unique<Deepseek2Model>(*m->reader);
        m->vocab = std::make_unique<Vocab>(read_vocab_gguf(*m->reader));
        if (m->vocab->n_tokens() < m->arch->hparams().n_vocab)
            fail(MOECPU_ERR_BAD_FORMAT, std::string(path) + ": the vocabulary has fewer tokens than token_embd has rows");
        apply_residency_hints(*m);
        *out_model = m.release();
    });
}

void moecpu_model_free(moecpu_model* model) { delete model; }

int32_t moecpu_model_n_vocab(const moecpu_model* model) { return model ? int32_t(model->arch->hparams().n_vocab) : 0; }
int32_t moecpu_model_n_ctx_train(const moecpu_model* model) { return model ? int32_t(model->arch->hparams().n_ctx_train) : 0; }
moecpu_token moecpu_model_bos(const moecpu_model* model) { return model ? model->vocab->bos() : -1; }
moecpu_token moecpu_model_eos(const moecpu_model* model) { return model ? model->vocab->eos() : -1; }

size_t moecpu_model_describe(const moecpu_model* model, char* buf, size_t buf_size) {
    if (!model) return 0;
    const Deepseek2Hparams& h = model->arch->hparams();
    std::string s = "deepseek2: " + std::to_string(h.n_layer) + " layers, n_embd " + std::to_string(h.n_embd) + ", " +
                    std::to_string(h.n_head) + " heads, " + std::to_string(h.n_expert) + " experts (" +
                    std::to_string(h.n_expert_used) + " used, " + std::to_string(h.n_expert_shared) + " shared), vocab " +
                    std::to_string(h.n_vocab) + ", " + std::to_string(model->reader->file_size() / (1024 * 1024)) + " MiB";
    if (buf && buf_size > 0) {
        const size_t n = std::min(s.size(), buf_size - 1);
        std::memcpy(buf, s.data(), n);
        buf[n] = '\0';
    }
    return s.size();
}

moecpu_status moecpu_tokenize(const moecpu_model* model, const char* text, size_t text_len, int32_t add_bos,
                              int32_t parse_special, moecpu_token* tokens, size_t max_tokens, size_t* n_tokens) {
    return guarded([&] {
        require(model && (text || text_len == 0) && n_tokens, "moecpu_tokenize: null argument");
        std::vector<int32_t> ids;
        model->vocab->tokenize(std::string_view(text ? text : "", text_len), add_bos != 0, parse_special != 0, ids);
        *n_tokens = ids.size();
        if (tokens) std::copy_n(ids.begin(), std::min(ids.size(), max_tokens), tokens);
        if (ids.size() > max_tokens)
            fail(MOECPU_ERR_INVALID_ARGUMENT, "moecpu_tokenize: buffer of " + std::to_string(max_tokens) +
                                                  " tokens is too small; " + std::to_string(ids.size()) + " needed");
    });
}

size_t moecpu_token_to_piece(const moecpu_model* model, moecpu_token token, char* buf, size_t buf_size) {
    if (!model) return 0;
    const std::string piece = model->vocab->token_to_piece(token);
    if (buf && buf_size > 0) std::memcpy(buf, piece.data(), std::min(piece.size(), buf_size));
    return piece.size();
}

moecpu_context_params moecpu_context_default_params(void) {
    moecpu_context_params p;
    p.n_ctx = 0;
    p.n_threads = 0;
    p.n_threads_batch = 0;
    p.n_batch = 0;
    p.logits_all = 0;
    p.prefetch_experts = 1;
    p.prefetch_next_layer = 0;
    return p;
}

moecpu_status moecpu_context_create(moecpu_model* model, moecpu_context_params params, moecpu_context** out_ctx) {
    return guarded([&] {
        require(model && out_ctx, "moecpu_context_create: model and out_ctx must not be null");
        *out_ctx = nullptr;
        require(params.n_ctx >= 0 && params.n_batch >= 0 && params.n_threads >= 0 && params.n_threads_batch >= 0,
                "moecpu_context_create: sizes and thread counts must not be negative");
        const Deepseek2Hparams& h = model->arch->hparams();
        if (params.n_ctx == 0) params.n_ctx = int32_t(std::min<int64_t>(4096, h.n_ctx_train));
        if (params.n_batch == 0) params.n_batch = 512;
        params.n_batch = std::min(params.n_batch, params.n_ctx);
        if (params.n_threads_batch == 0) params.n_threads_batch = params.n_threads;
        auto ctx = std::make_unique<moecpu_context>();
        ctx->model = model;
        ctx->params = params;
        ctx->state = std::make_unique<Deepseek2State>(*model->arch, params.n_ctx, params.n_batch);
        ctx->sampler_params = moecpu_sampler_default_params();
        ctx->sampler = std::make_unique<Sampler>(int32_t(h.n_vocab), to_config(ctx->sampler_params));
        ctx->history.reserve(size_t(params.n_ctx));
        ctx->usage = std::make_unique<ExpertUsage>(*model->arch);
        ctx->state->add_observer(ctx->usage.get());
        if (params.prefetch_experts || params.prefetch_next_layer) {
            ctx->prefetcher = std::make_unique<ExpertPrefetcher>(*model->arch, model->reader->mapped_file(),
                                                                 params.prefetch_experts != 0, params.prefetch_next_layer != 0);
            ctx->state->add_observer(ctx->prefetcher.get());
        }
        ctx->io_baseline = read_process_io();
        *out_ctx = ctx.release();
    });
}

void moecpu_context_free(moecpu_context* ctx) { delete ctx; }

moecpu_status moecpu_context_truncate(moecpu_context* ctx, int32_t n_keep) {
    return guarded([&] {
        require(ctx && n_keep >= 0, "moecpu_context_truncate: null context or negative n_keep");
        if (size_t(n_keep) < ctx->history.size()) ctx->history.resize(size_t(n_keep));
        ctx->n_logit_rows = 0;
    });
}

int32_t moecpu_context_n_past(const moecpu_context* ctx) { return ctx ? int32_t(ctx->history.size()) : 0; }

moecpu_status moecpu_eval(moecpu_context* ctx, const moecpu_token* tokens, size_t n) {
    return guarded([&] {
        require(ctx && (tokens || n == 0), "moecpu_eval: null argument");
        if (n > 0) eval_tokens(ctx, tokens, n);
    });
}

const float* moecpu_get_logits(moecpu_context* ctx, int32_t i) {
    if (!ctx || ctx->n_logit_rows == 0) return nullptr;
    const int64_t n_vocab = ctx->model->arch->hparams().n_vocab;
    const int64_t last = ctx->last_batch - 1;
    const int64_t row = i < 0 ? last : i;
    if (row > last) return nullptr;
    if (ctx->n_logit_rows == 1) return row == last ? ctx->logits.data() : nullptr;
    return &ctx->logits[size_t(row * n_vocab)];
}

moecpu_sampler_params moecpu_sampler_default_params(void) {
    const SamplerConfig c;
    moecpu_sampler_params p;
    p.temperature = c.temperature;
    p.top_k = c.top_k;
    p.top_p = c.top_p;
    p.min_p = c.min_p;
    p.repeat_penalty = c.repeat_penalty;
    p.repeat_last_n = c.repeat_last_n;
    p.seed = c.seed;
    return p;
}

moecpu_status moecpu_sample(moecpu_context* ctx, moecpu_sampler_params params, moecpu_token* out_token) {
    return guarded([&] {
        require(ctx && out_token, "moecpu_sample: null argument");
        const float* logits = moecpu_get_logits(ctx, -1);
        if (!logits) fail(MOECPU_ERR_INVALID_ARGUMENT, "moecpu_sample: no logits yet (evaluate tokens first)");
        // Same parameters continue the random stream; new ones restart it from their seed.
        if (!same_params(params, ctx->sampler_params)) {
            ctx->sampler_params = params;
            ctx->sampler->set_config(to_config(params));
        }
        *out_token = ctx->sampler->sample(logits, ctx->history);
    });
}

moecpu_status moecpu_generate(moecpu_context* ctx, const moecpu_token* prompt, size_t n_prompt, int32_t n_predict,
                              moecpu_sampler_params params, moecpu_token_callback callback, void* user_data,
                              int32_t* n_generated) {
    int32_t produced = 0;
    const moecpu_status st = guarded([&] {
        require(ctx && (prompt || n_prompt == 0), "moecpu_generate: null argument");
        if (n_prompt > 0) eval_tokens(ctx, prompt, n_prompt);
        const moecpu_token eos = ctx->model->vocab->eos();
        for (int32_t i = 0; i < n_predict; ++i) {
            moecpu_token tok = 0;
            if (const moecpu_status s = moecpu_sample(ctx, params, &tok); s != MOECPU_OK)
                fail(s, moecpu_last_error());
            if (tok == eos) break;
            ++produced;
            if (callback) {
                const std::string piece = ctx->model->vocab->token_to_piece(tok);
                if (callback(tok, piece.data(), piece.size(), user_data) != 0) {
                    eval_tokens(ctx, &tok, 1);  // keep the cache consistent with what was shown
                    fail(MOECPU_ERR_CANCELLED, "generation stopped by the callback");
                }
            }
            eval_tokens(ctx, &tok, 1);
        }
    });
    if (n_generated) *n_generated = produced;
    return st;
}

}  // extern "C"
