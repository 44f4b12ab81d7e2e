// C API: residency and access statistics (see moecpu_stats in moecpu.h).
#include <algorithm>

#include "lib/src/error.h"
#include "lib/src/model.h"

using namespace moecpu;

namespace {

void require_ctx(const moecpu_context* ctx, const void* out, const char* fn) {
    if (!ctx || !out) fail(MOECPU_ERR_INVALID_ARGUMENT, std::string(fn) + ": null argument");
}

int32_t checked_layer(const moecpu_context* ctx, int32_t layer, const char* fn) {
    if (layer < 0 || layer >= int32_t(ctx->model->arch->hparams().n_layer))
        fail(MOECPU_ERR_INVALID_ARGUMENT, std::string(fn) + ": layer " + std::to_string(layer) + " out of range");
    return layer;
}

}  // namespace

extern "C" {

moecpu_status moecpu_get_stats(moecpu_context* ctx, moecpu_stats* out) {
    return guarded([&] {
        require_ctx(ctx, out, "moecpu_get_stats");
        const moecpu_model& m = *ctx->model;
        const WeightRegions& r = m.regions;
        moecpu_stats s{};
        s.n_tokens = ctx->stats_tokens;
        s.n_layers = int32_t(m.arch->hparams().n_layer);
        for (int32_t il = 0; il < s.n_layers; ++il) {
            if (!m.arch->layers()[size_t(il)].moe) continue;
            ++s.n_moe_layers;
            s.expert_bytes_touched += ctx->usage->bytes_touched(il);
        }
        s.file_bytes = m.reader->file_size();
        s.expert_bytes = r.expert_bytes;
        s.other_bytes = r.other_bytes;
        s.expert_bytes_resident = resident_bytes(r.expert);
        s.other_bytes_resident = resident_bytes(r.other);
        const ProcessIo now = read_process_io();
        s.minor_faults = now.minor_faults - ctx->io_baseline.minor_faults;
        s.major_faults = now.major_faults - ctx->io_baseline.major_faults;
        s.disk_read_bytes = now.disk_read_bytes - std::min(now.disk_read_bytes, ctx->io_baseline.disk_read_bytes);
        s.mlock_state = m.mlock_state;
        *out = s;
    });
}

moecpu_status moecpu_get_layer_stats(moecpu_context* ctx, int32_t layer, moecpu_layer_stats* out) {
    return guarded([&] {
        require_ctx(ctx, out, "moecpu_get_layer_stats");
        checked_layer(ctx, layer, "moecpu_get_layer_stats");
        moecpu_layer_stats s{};
        if (ctx->model->arch->layers()[size_t(layer)].moe) {
            s.is_moe = 1;
            s.n_expert = int32_t(ctx->usage->n_expert());
            s.n_distinct = int32_t(ctx->usage->distinct(layer));
            s.n_selections = ctx->usage->selections(layer);
            s.expert_bytes_touched = ctx->usage->bytes_touched(layer);
            s.expert_bytes_resident = resident_bytes(ctx->model->regions.expert_by_layer[size_t(layer)]);
        }
        *out = s;
    });
}

moecpu_status moecpu_get_expert_counts(moecpu_context* ctx, int32_t layer, int64_t* counts, size_t n) {
    return guarded([&] {
        require_ctx(ctx, counts, "moecpu_get_expert_counts");
        checked_layer(ctx, layer, "moecpu_get_expert_counts");
        const int64_t* c = ctx->usage->counts(layer);
        std::copy_n(c, std::min<size_t>(n, size_t(ctx->usage->n_expert())), counts);
    });
}

void moecpu_stats_reset(moecpu_context* ctx) {
    if (!ctx) return;
    ctx->usage->reset();
    ctx->stats_tokens = 0;
    ctx->io_baseline = read_process_io();
}

}  // extern "C"
