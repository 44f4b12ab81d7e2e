#include "lib/src/prefetch_experts.h"

#include <sys/mman.h>
#include <sys/resource.h>

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

bool ExpertPrefetcher::probes_resident(const uint8_t* begin, uint64_t length) {
    const uintptr_t page = MappedFile::page_size();
    unsigned char flag = 0;
    for (int i = 0; i < kResidencyProbes; ++i) {
        const uintptr_t at = reinterpret_cast<uintptr_t>(begin) + uintptr_t(length * uint64_t(i) / kResidencyProbes);
        if (::mincore(reinterpret_cast<void*>(at & ~(page - 1)), 1, &flag) != 0 || !(flag & 1)) return false;
    }
    return true;
}

void ExpertPrefetcher::advise_expert(int layer, int32_t e, bool computed) {
    const Deepseek2Layer& L = model_.layers()[size_t(layer)];
    uint8_t& ran_before = computed_[size_t(layer) * size_t(model_.hparams().n_expert) + size_t(e)];
    for (const WeightView* w : {&L.gate_exps, &L.up_exps, &L.down_exps}) {
        const uint8_t* begin = w->matrix(e).data;
        const uint64_t offset = uint64_t(begin - file_->data());
        // Measured per 8 MB expert matrix of a page-cached file (kernel 6.18): WILLNEED walks the
        // page cache (140 µs), and so does mincore() over pages this process has not mapped
        // (135 µs); mincore() over pages mapped here reads page tables only (3-5 µs). So an expert
        // that already ran here is checked and only its evicted pages are hinted (while nothing
        // goes missing, only some are checked: recheck_policy.h), and a first-time expert is hinted
        // whole, unless the page cache is trusted and a few probed pages are all resident.
        if (!ran_before) {
            if (!recheck_.trusting() || !probes_resident(begin, w->mat_bytes)) file_->advise_willneed(offset, w->mat_bytes);
        } else if (recheck_.should_check()) {
            recheck_.on_checked(file_->advise_willneed_missing(offset, w->mat_bytes, page_flags_.data(), page_flags_.size()) > 0);
        }
    }
    if (computed) ran_before = 1;
}

void ExpertPrefetcher::on_routed(int layer, const int32_t* chosen, int64_t n_tokens, int64_t k, const float* xn) {
    if (!file_) return;
    // This thread's faults only: it computes a share of every expert product, so an evicted
    // expert read on demand shows here too, and RUSAGE_SELF costs ~7 µs (it visits every thread).
#ifdef RUSAGE_THREAD
    constexpr int kWho = RUSAGE_THREAD;
#else
    constexpr int kWho = RUSAGE_SELF;
#endif
    rusage usage{};
    if (::getrusage(kWho, &usage) == 0) recheck_.on_routing(uint64_t(usage.ru_majflt));
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
