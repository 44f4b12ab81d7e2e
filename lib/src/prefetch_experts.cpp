#include "lib/src/prefetch_experts.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lib/src/mapped_file.h"

namespace moecpu {

ExpertPrefetcher::ExpertPrefetcher(const Deepseek2Model& model, const MappedFile* file, bool chosen, bool next_layer)
    : model_(model), file_(file && file->mode() == MappedFile::Mode::Map ? file : nullptr), chosen_(chosen),
      next_layer_(next_layer), seen_(size_t(model.hparams().n_expert)), scores_(size_t(model.hparams().n_expert)) {}

void ExpertPrefetcher::advise_expert(const Deepseek2Layer& L, int32_t e) const {
    for (const WeightView* w : {&L.gate_exps, &L.up_exps, &L.down_exps}) {
        const uint8_t* p = w->matrix(e).data;
        file_->advise_willneed(uint64_t(p - file_->data()), w->mat_bytes);
    }
}

void ExpertPrefetcher::on_routed(int layer, const int32_t* chosen, int64_t n_tokens, int64_t k, const float* xn) {
    if (!file_) return;
    const Deepseek2Hparams& h = model_.hparams();
    if (chosen_) {
        const Deepseek2Layer& L = model_.layers()[size_t(layer)];
        std::fill(seen_.begin(), seen_.end(), 0);
        for (int64_t i = 0; i < n_tokens * k; ++i)
            if (!seen_[size_t(chosen[i])]++) advise_expert(L, chosen[i]);
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
                advise_expert(N, int32_t(best));
            }
        }
    }
}

}  // namespace moecpu
