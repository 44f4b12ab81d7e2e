// Asks the kernel to start reading the chosen experts' weights as soon as a layer's router has
// chosen (MADV_WILLNEED), so disk reads of later experts overlap the compute of earlier ones;
// optionally also the experts the next layer's router would pick for the current activations
// (the residual stream changes little between layers, so this guess is often right).
#pragma once
#include <cstdint>
#include <vector>

#include "models/deepseek2.h"

namespace moecpu {

class MappedFile;

class ExpertPrefetcher final : public RoutingObserver {
public:
    // Does nothing for heap-copied models (file == null or not a mapping).
    ExpertPrefetcher(const Deepseek2Model& model, const MappedFile* file, bool chosen, bool next_layer);

    void on_routed(int layer, const int32_t* chosen, int64_t n_tokens, int64_t k, const float* xn) override;

private:
    // `computed`: the expert runs right after this hint, so its pages end up mapped here.
    void advise_expert(int layer, int32_t e, bool computed);

    const Deepseek2Model& model_;
    const MappedFile* file_;
    bool chosen_, next_layer_;
    std::vector<uint8_t> seen_;     // [n_expert] experts already hinted in this call
    std::vector<float> scores_;     // [n_expert] next layer's router scores
    std::vector<unsigned char> page_flags_;  // mincore() scratch: one expert matrix's pages
    std::vector<uint8_t> computed_;         // [n_layer][n_expert]: has run here, pages are mapped
};

}  // namespace moecpu
