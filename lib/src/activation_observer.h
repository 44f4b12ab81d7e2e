// An optional, process-wide observer of every matmul's input activations, for tools that
// collect statistics from the forward pass (moe-imatrix's importance matrix). linear() calls it
// once per call, before the product, with the weight it multiplies; the observer identifies the
// weight (and the expert or head within a stacked tensor) by its address in the mapped file.
// When none is installed the cost is one atomic load per linear().
#pragma once
#include <cstdint>

#include "lib/src/weight_view.h"

namespace moecpu {

class ActivationObserver {
public:
    virtual ~ActivationObserver() = default;
    // x: [n_tokens][x_stride] floats, of which the first w.cols are the matmul's input.
    virtual void observe(const WeightView& w, const float* x, int64_t x_stride, int64_t n_tokens) = 0;
};

// Installs `observer` (null: none). The caller keeps it alive until it is uninstalled.
void set_activation_observer(ActivationObserver* observer);
ActivationObserver* activation_observer();

}  // namespace moecpu
