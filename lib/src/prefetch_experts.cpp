#include "lib/src/prefetch_experts.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lib/src/mapped_file.h"

namespace moecpu {

ExpertPrefetcher::ExpertPrefetcher(const Deepseek2Model& model, const MappedFile* file, bool chosen, bool next_layer)
    : model_(model), file_(file && file->mode() == MappedFile::Mode::Map ? file : nullptr), chosen_(chosen),
      next_layer_(next_layer), seen_(size_t(model.hparams().n_expert)), scores_(size_t(model.hparams().n_expert)) {
    size_t widest = 0;
    for (const Deepseek2Layer& L : model.layers())
        for (const WeightView* w : {&L.gate_exps, &L.up_exps, &L.down_exps}) widest = std::max(widest, size_t(w->mat_bytes));
    // +1: a matrix that does not start on a page boundary spans one page more.
    if (file_) page_flags_.resize(widest / MappedFile::page_size() + 2);
    if (file_) computed_.resize(size_t(model.hparams().n_layer * model.hparams().n_expert));
}

void ExpertPrefetcher::advise_expert(int layer, int32_t e, bool computed) {
    const Deepseek2Layer& L = model_.layers()[size_t(layer)];
    uint8_t& ran_before = computed_[size_t(layer) * size_t(model_.hparams().n_expert) + size_t(e)];
    for (const WeightView* w : {&L.gate_exps, &L.up_exps, &L.down_exps}) {
        const uint64_t offset = uint64_t(w->matrix(e).data - file_->data());
        // Measured on 200 MB of page-cached experts: WILLNEED walks the page cache (3.4 ms), and
        // so does mincore() for pages this process has not mapped (13 ms); mincore() over pages
        // mapped here reads page tables only (0.02 ms). So an expert that already ran here is
        // checked and only its evicted pages are hinted; a first-time expert is hinted whole.
        if (ran_before) file_->advise_willneed_missing(offset, w->mat_bytes, page_flags_.data(), page_flags_.size());
        else file_->advise_willneed(offset, w->mat_bytes);
    }
    if (computed) ran_before = 1;
}

void ExpertPrefetcher::on_routed(int layer, const int32_t* chosen, int64_t n_tokens, int64_t k, const float* xn) {
    if (!file_) return;
    const Deepseek2Hparams& h = model_.hparams();
    if (chosen_) {
        std::fill(seen_.begin(), seen_.end(), 0);
        for (int64_t i = 0; i < n_tokens * k; ++i)
            if (!seen_[size_t(chosen[i])]++) advise_expert(layer, chosen[i], true);
    }
    if (next_layer_ && layer + 1 < h.n_layer) {
        // The next layer's router applied to this layer's input: a cheap guess of its choice.
        const Deepseek2Layer& N = model_.layers()[size_t(layer + 1)];
        if (!N.moe || N.gate_inp.type != GgmlType::F32) return;
        constexpr float kTaken = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < n_tokens; ++i) {
            const float* x = xn + i * h.n_embd;
            for (int64_t e = 0; e < h.n_expert; ++e) {
                const float* row = reinterpret_cast<const float*>(N.gate_inp.data + size_t(e) * N.gate_inp.row_bytes);
                float s = 0.0f;
                for (int64_t c = 0; c < h.n_embd; ++c) s += row[c] * x[c];
                // Softmax is monotonic, so raw scores rank like it; sigmoid scores get the bias added
                // as the router does. Groups are ignored: this is a guess.
                const float p = h.sigmoid_gating ? 1.0f / (1.0f + std::exp(-s)) : s;
                scores_[size_t(e)] = p + (N.exp_probs_b.empty() ? 0.0f : N.exp_probs_b[size_t(e)]);
            }
            for (int64_t s = 0; s < k; ++s) {
                const auto best = std::max_element(scores_.begin(), scores_.end()) - scores_.begin();
                scores_[size_t(best)] = kTaken;
                advise_expert(layer + 1, int32_t(best), false);
            }
        }
    }
}

}  // namespace moecpu
