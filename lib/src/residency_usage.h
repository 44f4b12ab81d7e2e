// Counts which routed experts each MoE layer selected (a RoutingObserver), for `--stats` and the
// C API: distinct experts per layer, selection counts, bytes of expert weights touched.
#pragma once
#include <cstdint>
#include <vector>

#include "models/deepseek2.h"

namespace moecpu {

class ExpertUsage final : public RoutingObserver {
public:
    explicit ExpertUsage(const Deepseek2Model& model);

    void on_routed(int layer, const int32_t* chosen, int64_t n_tokens, int64_t k, const float* xn) override;
    void reset();

    int64_t n_expert() const { return n_expert_; }
    const int64_t* counts(int layer) const { return counts_.data() + size_t(layer) * size_t(n_expert_); }
    int64_t distinct(int layer) const;
    int64_t selections(int layer) const;
    // Sum over the distinct experts this layer selected of their gate + up + down bytes.
    uint64_t bytes_touched(int layer) const;

private:
    const Deepseek2Model& model_;
    int64_t n_expert_;
    std::vector<int64_t> counts_;  // [n_layer][n_expert]
};

}  // namespace moecpu
