#include "lib/src/residency_usage.h"

#include <algorithm>

namespace moecpu {

ExpertUsage::ExpertUsage(const Deepseek2Model& model)
    : model_(model), n_expert_(model.hparams().n_expert),
      counts_(size_t(model.hparams().n_layer * model.hparams().n_expert), 0) {}

void ExpertUsage::on_routed(int layer, const int32_t* chosen, int64_t n_tokens, int64_t k, const float*) {
    int64_t* c = counts_.data() + size_t(layer) * size_t(n_expert_);
    for (int64_t i = 0; i < n_tokens * k; ++i) ++c[chosen[i]];
}

void ExpertUsage::reset() { std::fill(counts_.begin(), counts_.end(), 0); }

int64_t ExpertUsage::distinct(int layer) const {
    const int64_t* c = counts(layer);
    return std::count_if(c, c + n_expert_, [](int64_t v) { return v > 0; });
}

int64_t ExpertUsage::selections(int layer) const {
    const int64_t* c = counts(layer);
    int64_t s = 0;
    for (int64_t e = 0; e < n_expert_; ++e) s += c[e];
    return s;
}

uint64_t ExpertUsage::bytes_touched(int layer) const {
    const Deepseek2Layer& L = model_.layers()[size_t(layer)];
    if (!L.moe) return 0;
    const uint64_t per_expert = L.gate_exps.mat_bytes + L.up_exps.mat_bytes + L.down_exps.mat_bytes;
    return uint64_t(distinct(layer)) * per_expert;
}

}  // namespace moecpu
