// Asks the kernel to start reading the chosen experts' weights as soon as a layer's router has
// chosen (MADV_WILLNEED), so disk reads of later experts overlap the compute of earlier ones;
// optionally also the experts the next layer's router would pick for the current activations
// (the residual stream changes little between layers, so this guess is often right). Experts
// that ran before are hinted only where mincore() finds pages missing, and checked less often
// while nothing goes missing (recheck_policy.h); while that lasts, a first-time expert whose
// probed pages are all in the page cache is not hinted either.
#pragma once
#include <cstdint>
#include <vector>

#include "lib/src/recheck_policy.h"
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
    // Whether kResidencyProbes pages spread over the range are all in the page cache (one
    // single-page mincore() each, ~0.5 µs, against ~140 µs for a WILLNEED of a resident matrix).
    static bool probes_resident(const uint8_t* begin, uint64_t length);
    static constexpr int kResidencyProbes = 8;

    const Deepseek2Model& model_;
    const MappedFile* file_;
    bool chosen_, next_layer_;
    std::vector<uint8_t> seen_;     // [n_expert] experts already hinted in this call
    std::vector<float> scores_;     // [n_expert] next layer's router scores
    std::vector<unsigned char> page_flags_;  // mincore() scratch: one expert matrix's pages
    std::vector<uint8_t> computed_;         // [n_layer][n_expert]: has run here, pages are mapped
    RecheckPolicy recheck_;                 // which ran-before experts get their pages checked
};

}  // namespace moecpu
