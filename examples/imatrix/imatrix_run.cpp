// Calibration run (see imatrix_run.h).
#include "examples/imatrix/imatrix_run.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "examples/imatrix/imatrix_collector.h"
#include "lib/src/error.h"
#include "lib/src/model.h"
#include "moecpu.h"

namespace moecpu::tools {

namespace {

void check(moecpu_status st, const std::string& what) {
    if (st != MOECPU_OK) fail(st, what + ": " + moecpu_last_error());
}

// Uninstalls the observer however the run ends.
struct ObserverScope {
    explicit ObserverScope(ActivationObserver* o) { set_activation_observer(o); }
    ~ObserverScope() { set_activation_observer(nullptr); }
};

struct ModelHandles {
    moecpu_model* model = nullptr;
    moecpu_context* ctx = nullptr;
    ~ModelHandles() {
        moecpu_context_free(ctx);
        moecpu_model_free(model);
    }
};

}  // namespace

convert::ImportanceMatrix compute_imatrix(const ImatrixRunOptions& o) {
    std::ifstream f(o.text_path, std::ios::binary);
    if (!f) fail(MOECPU_ERR_IO, "cannot read text file '" + o.text_path + "'");
    const std::string text((std::istreambuf_iterator<char>(f)), {});
    if (o.n_ctx < 2) fail(MOECPU_ERR_INVALID_ARGUMENT, "-c must be at least 2");

    ModelHandles h;
    check(moecpu_model_load(o.model_path.c_str(), moecpu_model_default_params(), &h.model), "loading " + o.model_path);
    moecpu_context_params p = moecpu_context_default_params();
    p.n_ctx = o.n_ctx;
    p.n_batch = o.n_ctx;
    p.n_threads = o.n_threads;
    check(moecpu_context_create(h.model, p, &h.ctx), "creating a context for " + o.model_path);

    size_t n = 0;
    moecpu_tokenize(h.model, text.data(), text.size(), 0, 0, nullptr, 0, &n);
    std::vector<int32_t> ids(n);
    check(moecpu_tokenize(h.model, text.data(), text.size(), 0, 0, ids.data(), ids.size(), &n), "tokenizing " + o.text_path);
    size_t n_chunks = ids.size() / static_cast<size_t>(o.n_ctx);
    if (o.max_chunks > 0) n_chunks = std::min(n_chunks, static_cast<size_t>(o.max_chunks));
    if (n_chunks == 0)
        fail(MOECPU_ERR_INVALID_ARGUMENT, "'" + o.text_path + "' has " + std::to_string(ids.size()) +
                                              " tokens, fewer than one chunk of " + std::to_string(o.n_ctx));

    ImatrixCollector collector(h.model->reader->tensors());
    ObserverScope scope(&collector);
    const auto start = std::chrono::steady_clock::now();
    std::vector<int32_t> chunk(static_cast<size_t>(o.n_ctx));
    for (size_t c = 0; c < n_chunks; ++c) {
        std::copy_n(ids.begin() + static_cast<std::ptrdiff_t>(c * chunk.size()), chunk.size(), chunk.begin());
        chunk[0] = moecpu_model_bos(h.model);  // every chunk starts like a document, as in llama.cpp
        check(moecpu_context_truncate(h.ctx, 0), "clearing the context");
        check(moecpu_eval(h.ctx, chunk.data(), chunk.size()), "evaluating chunk " + std::to_string(c));
        if (o.log) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::fprintf(o.log, "\rmoe-imatrix: chunk %zu/%zu, %.1f s, ETA %.1f s   ", c + 1, n_chunks, s,
                         s / static_cast<double>(c + 1) * static_cast<double>(n_chunks - c - 1));
        }
    }
    if (o.log) std::fprintf(o.log, "\n");
    convert::ImportanceMatrix m = collector.result();
    m.chunk_count = static_cast<uint32_t>(n_chunks);
    m.chunk_size = static_cast<uint32_t>(o.n_ctx);
    m.datasets.push_back(o.text_path);
    return m;
}

}  // namespace moecpu::tools
